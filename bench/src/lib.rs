//! stratum-bench: benchmarks of Stratum.
