#!/usr/bin/env bash
# The whole test suite: unit, property, storage (SQLite and PostgreSQL) and
# end-to-end tests with the real binaries against a real SMTP server (maildev),
# run in parallel by cargo-nextest, then the doctests.
#
# Needs: the Rust toolchain (rust-toolchain.toml), Node.js + npm (for maildev),
# Python 3 with venv (moto), the openssl command (test certificates), and
# PostgreSQL reachable at CARTBACK_TEST_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/postgres). Each test creates and drops
# its own database. Arguments go to `cargo nextest run` (a filter, `-p CRATE`…).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/test-deps.sh

# cargo-nextest runs every test in its own process, many at once
# (.config/nextest.toml). A fresh machine builds it once from crates.io.
if ! cargo nextest --version >/dev/null 2>&1; then
    echo "cargo-nextest is missing: cargo install cargo-nextest --locked" >&2
    cargo install cargo-nextest --locked
fi

# PostgreSQL tests copy a migrated template database instead of migrating; this
# run's id goes into the template's name (so concurrent runs never share one)
# and the template is dropped when the run ends.
export CARTBACK_TEST_RUN="${CARTBACK_TEST_RUN:-run$$x$RANDOM}"
drop_template() {
    local url="${CARTBACK_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
    if command -v psql >/dev/null 2>&1; then
        psql "$url" -qAt -v ON_ERROR_STOP=0 -c "SELECT datname FROM pg_database \
            WHERE datname LIKE 'cartback\_tpl\_%\_${CARTBACK_TEST_RUN,,}'" 2>/dev/null \
            | while read -r name; do
                psql "$url" -q -c "DROP DATABASE IF EXISTS \"$name\"" >/dev/null 2>&1 || true
            done
    fi
}
trap drop_template EXIT

# The end-to-end tests spawn the real binaries. Building them together with the
# tests (`--tests` turns on the dev-dependencies' features) makes one build that
# nextest then reuses whole; `cargo build --bins` alone would resolve features
# differently and compile half the dependency tree a second time.
cargo build --workspace --bins --tests
cargo nextest run --workspace ${CI:+--profile ci} "$@"
if [ "$#" -eq 0 ]; then
    cargo test --workspace --doc
fi
