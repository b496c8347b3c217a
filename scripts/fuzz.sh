#!/usr/bin/env bash
# Fuzzes the parsers that read what clients send (fuzz/fuzz_targets/): each
# target runs for SECONDS (default 60), starting from its committed seeds in
# fuzz/corpus/<target>/, which stay read-only: what the fuzzer grows goes to
# a temporary directory, so a run never dirties the tree. Fails if any target
# crashed; the crashing input is kept in fuzz/artifacts/<target>/ (ignored by
# git): reproduce with `cargo +nightly fuzz run <target> <file>`, then add it
# as a regression test beside the code.
#
# Needs cargo-fuzz (installed from crates.io when missing) and a nightly
# compiler: the nightly toolchain when rustup has one, else stable with
# RUSTC_BOOTSTRAP=1. Built with AddressSanitizer (cargo-fuzz's default) and
# debug assertions, so integer overflow panics too.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
target_dir="${CARGO_TARGET_DIR:-$PWD/fuzz/target}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

if command -v rustup >/dev/null && rustup toolchain list | grep -q '^nightly'; then
    fuzz=(cargo +nightly fuzz)
elif command -v rustup >/dev/null; then
    fuzz=(env RUSTC_BOOTSTRAP=1 cargo +stable fuzz)
else
    fuzz=(env RUSTC_BOOTSTRAP=1 cargo fuzz)
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <("${fuzz[@]}" list)
fi

"${fuzz[@]}" build --target-dir "$target_dir"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=()
for target in "${targets[@]}"; do
    printf '\n--> %s for %ss\n' "$target" "$seconds"
    mkdir -p "$work/$target" "fuzz/artifacts/$target"
    # The first corpus directory receives new inputs; the seeds are only read.
    if ! "${fuzz[@]}" run --target-dir "$target_dir" "$target" "$work/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1; then
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzzing found crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzzing: ${#targets[@]} targets, ${seconds}s each, no crash"
