//! The crate's one error type: what a caller can get wrong.

/// Errors of the tiering policy. None of them comes from I/O: the crate has
/// none. They are bad configuration or bad hints, both caused by input.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    #[error("invalid tiering config: {field}: {why}")]
    Config { field: &'static str, why: &'static str },
    #[error("invalid x-amz-meta-stratum-tier value {0:?} (want hot, warm, cold or auto)")]
    TierHint(String),
    #[error("invalid x-amz-meta-stratum-pin value {0:?} (want true or false)")]
    PinHint(String),
    #[error("pinning needs a tier: x-amz-meta-stratum-pin without hot, warm or cold")]
    PinWithoutTier,
}
