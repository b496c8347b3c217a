#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests, then the end-to-end
# tests that drive the real binary with awscli, boto3, rclone, s3cmd and the
# AWS SDK for JavaScript on 127.0.0.1. Installs what it needs (Python test
# tools, Debian's rclone, s3cmd and nodejs, the SDK from package-lock.json)
# when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "python test tools"
if ! python3 -c 'import pytest, pytest_timeout, boto3, requests, psutil' 2>/dev/null || ! command -v aws >/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
fi

step "S3 clients from Debian (rclone, s3cmd, s3fs)"
if ! command -v rclone >/dev/null || ! command -v s3cmd >/dev/null || ! command -v s3fs >/dev/null; then
    if command -v apt-get >/dev/null; then
        sudo_cmd=""
        [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo -n"
        { $sudo_cmd apt-get update -qq &&
            $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rclone s3cmd s3fs >/dev/null; } ||
            echo "could not install rclone, s3cmd and s3fs: their e2e tests will be skipped"
    else
        echo "rclone, s3cmd or s3fs missing and no apt-get: their e2e tests will be skipped"
    fi
fi

step "node and the AWS SDK for JavaScript (tests/e2e/js)"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    as_root=(env DEBIAN_FRONTEND=noninteractive)
    [ "$(id -u)" -eq 0 ] || as_root=(sudo -n "${as_root[@]}")
    { command -v apt-get >/dev/null && "${as_root[@]}" apt-get update -qq &&
        "${as_root[@]}" apt-get install -y -qq nodejs npm >/dev/null; } ||
        echo "could not install nodejs and npm with apt-get: the JavaScript SDK e2e tests will be skipped"
fi
if command -v npm >/dev/null && [ ! -d tests/e2e/js/node_modules ]; then
    (cd tests/e2e/js && npm ci --no-audit --no-fund --loglevel=error) ||
        echo "npm ci failed in tests/e2e/js: the JavaScript SDK e2e tests will be skipped"
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

step "fuzzing (${FUZZ_SECONDS:-60} s per target)"
scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
