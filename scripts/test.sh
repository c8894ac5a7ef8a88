#!/usr/bin/env bash
# The whole test suite: unit, property, storage (SQLite and PostgreSQL) and
# end-to-end tests with the real binaries against a real SMTP server (maildev).
#
# Needs: the Rust toolchain (rust-toolchain.toml), Node.js + npm (for maildev),
# Python 3 with venv (moto), the openssl command (test certificates), and
# PostgreSQL reachable at CARTBACK_TEST_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/postgres). Each test creates and drops
# its own database.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/test-deps.sh

# The end-to-end tests spawn the real binaries; build them once, with the same
# profile and features the tests use, so nothing is compiled twice.
cargo build --workspace --bins
cargo test --workspace "$@"
