#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests, then the end-to-end
# tests that drive the real binary with awscli and boto3 on 127.0.0.1.
# Installs what it needs (Python test tools) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "python test tools"
if ! python3 -c 'import pytest, pytest_timeout, boto3, requests, psutil' 2>/dev/null || ! command -v aws >/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --release -- -D warnings

step "unit tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --release --no-fail-fast
else
    cargo test --workspace --release
fi

step "build the server"
cargo build --release --bin stratum

step "end-to-end tests"
python3 -m pytest tests/e2e -q -ra "$@"
