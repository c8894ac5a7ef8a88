#!/usr/bin/env bash
# cartback's ingest benchmark (docs/benchmarks.md): in one run on this machine,
#   1. PostgreSQL-backed cartback-api under wrk at rising concurrency, unique and
#      repeating sessions: acknowledged events/s, p50, p99, non-2xx, peak RSS;
#   2. pgbench with the equivalent single-row upsert on the same database, and the
#      ratio cartback events/s / pgbench tps;
#   3. the same api on SQLite;
#   4. the worker: N due carts sent by a real cartback-worker to a loopback provider
#      (cartback-bench worker), emails/s and peak RSS, on both backends;
#   5. claim cost with 10k and with 1M carts in the table, the same number due
#      (cartback-bench claim-cost), on both backends;
#   6. the dashboard with a year of 1M carts of one tenant: p50/p95 of every page
#      over loopback, and the first-load transfer (cartback-bench dashboard).
# Needs wrk and pgbench (apt-get install wrk postgresql-client) and PostgreSQL at
# CARTBACK_BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432).
# BENCH_SECONDS (default 10) sets each load step's length; BENCH_ONLY=ingest runs
# parts 1-3 alone, BENCH_ONLY=dashboard part 6 alone; BENCH_PROFILE (default
# release) picks the cargo profile to build and run (`profiling` is the release code with line tables, for perf).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_BASE=${CARTBACK_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
SECONDS_PER_STEP=${BENCH_SECONDS:-10}
WORKER_CARTS=${BENCH_WORKER_CARTS:-20000}
DASHBOARD_CARTS=${BENCH_DASHBOARD_CARTS:-1000000}
CONCURRENCY=${BENCH_CONCURRENCY:-"4 8 16 64 256"}
ONLY=${BENCH_ONLY:-all}
case $ONLY in all | ingest | dashboard) ;; *) echo "BENCH_ONLY is all, ingest or dashboard, not $ONLY" >&2; exit 2 ;; esac
TOOLS="wrk pgbench psql"
[ "$ONLY" = dashboard ] && TOOLS=psql
for tool in $TOOLS; do
    command -v "$tool" >/dev/null || { echo "bench needs $tool (apt-get install wrk postgresql-client)" >&2; exit 2; }
done
PROFILE=${BENCH_PROFILE:-release}
if [ "$ONLY" = dashboard ]; then
    cargo build --profile "$PROFILE" -p cartback-api-bin -p cartback -p cartback-bench --quiet
else
    cargo build --profile "$PROFILE" --bins --quiet
fi
BIN=${CARGO_TARGET_DIR:-target}/$PROFILE
WORK=$(mktemp -d)
RUN_ID=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
DB_NAME="cartback_bench_$RUN_ID"
EXTRA_DBS=""
API_PID=""
cleanup() {
    [ -n "$API_PID" ] && kill "$API_PID" 2>/dev/null || true
    for db in $DB_NAME $EXTRA_DBS; do
        psql "$PG_BASE/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

SUMMARY="$WORK/summary"
: > "$SUMMARY"

# A fresh PostgreSQL database for one measurement; prints its URL.
fresh_pg() {
    local db="cartback_bench_${RUN_ID}_$1"
    EXTRA_DBS="$EXTRA_DBS $db"
    psql "$PG_BASE/postgres" -qc "CREATE DATABASE $db" >/dev/null
    echo "$PG_BASE/$db"
}

field() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }

# Part 6 on both backends; appends rows to the summary and sets
# dashboard_results (slowest p95 and first-load sizes per backend).
bench_dashboard() {
    echo "== dashboard: every page, $DASHBOARD_CARTS carts of one tenant" >&2
    dashboard_results=""
    for backend in postgres sqlite; do
        if [ "$backend" = postgres ]; then url=$(fresh_pg dashboard); else url="sqlite://$WORK/dashboard.db"; fi
        "$BIN/cartback-bench" dashboard --database-url "$url" --api-bin "$BIN/cartback-api" \
            --cli-bin "$BIN/cartback" --carts "$DASHBOARD_CARTS" | grep '^RESULT' > "$WORK/dashboard-$backend"
        while read -r line; do
            page=$(field page <<<"$line")
            [ -n "$page" ] && printf '%-10s dashboard %-16s p50 %6s ms  p95 %6s ms  first %7s ms\n' "$backend" "$page" \
                "$(field p50_ms <<<"$line")" "$(field p95_ms <<<"$line")" "$(field first_ms <<<"$line")" | tee -a "$SUMMARY" >&2
        done < "$WORK/dashboard-$backend"
        last=$(tail -n 1 "$WORK/dashboard-$backend")
        printf '%-10s dashboard first load: overview %s KB, carts %s KB; assets immutable: %s\n' "$backend" \
            "$(field overview_first_load_kb <<<"$last")" "$(field carts_first_load_kb <<<"$last")" \
            "$(field assets_immutable <<<"$last")" | tee -a "$SUMMARY" >&2
        dashboard_results="$dashboard_results $(field slowest_p95_ms <<<"$last") $(field overview_first_load_kb <<<"$last") $(field carts_first_load_kb <<<"$last")"
    done
}

# Starts the api on $1 (database URL); sets API_PID, PORT and KEY.
start_api() {
    local url=$1
    DATABASE_URL=$url CARTBACK_LOG=warn "$BIN/cartback" migrate >/dev/null
    local tenant
    tenant=$(DATABASE_URL=$url "$BIN/cartback" tenant create --name Bench --from bench@example.com --json)
    KEY=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["secretKey"])' <<<"$tenant")
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    # Rate limits off: the benchmark is one client driving one key as hard as it can.
    DATABASE_URL=$url CARTBACK_BIND=127.0.0.1:$PORT CARTBACK_LOG=warn CARTBACK_DB_POOL_SIZE=16 \
        CARTBACK_RATE_LIMIT_KEY_PER_MINUTE=0 CARTBACK_RATE_LIMIT_IP_PER_MINUTE=0 \
        "$BIN/cartback-api" --no-migrate >"$WORK/api.log" 2>&1 &
    API_PID=$!
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "the api did not start" >&2; cat "$WORK/api.log" >&2; exit 1
}

stop_api() {
    local rss
    rss=$(awk '/VmHWM/ {print $2}' "/proc/$API_PID/status")
    kill "$API_PID"; wait "$API_PID" 2>/dev/null || true
    API_PID=""
    echo "$((rss / 1024))"
}

# Runs wrk; prints "events/s p50 p99 non2xx".
load() {
    local connections=$1 mode=$2
    BENCH_KEY=$KEY BENCH_MODE=$mode wrk -t2 -c"$connections" -d"${SECONDS_PER_STEP}s" --timeout 5s \
        -s scripts/bench/track.lua "http://127.0.0.1:$PORT" | awk '/^RESULT/ {
            split($2,a,"="); split($3,b,"="); split($4,c,"="); split($5,d,"=");
            print a[2], b[2], c[2], d[2] }'
}

# Benchmarks one backend; appends rows to the summary and prints the best rate.
bench_backend() {
    local name=$1 url=$2 best=0
    start_api "$url"
    echo "== $name: POST /api/v1/track" >&2
    for mode in unique repeat; do
        for c in $CONCURRENCY; do
            read -r rate p50 p99 non2xx < <(load "$c" "$mode")
            printf '%-10s %-7s %5s conns  %8s events/s  p50 %7s ms  p99 %7s ms  non-2xx %s\n' \
                "$name" "$mode" "$c" "$rate" "$p50" "$p99" "$non2xx" | tee -a "$SUMMARY" >&2
            [ "$rate" -gt "$best" ] && best=$rate
        done
    done
    local rss
    rss=$(stop_api)
    printf '%-10s api peak RSS %s MB\n' "$name" "$rss" | tee -a "$SUMMARY" >&2
    echo "$best"
}

if [ "$ONLY" = dashboard ]; then
    bench_dashboard
    echo
    echo "== summary ($(nproc) cores, $(uname -sr), $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg))"
    cat "$SUMMARY"
    python3 - $dashboard_results <<'PY'
import sys
pg_p95, pg_overview, pg_carts, lite_p95, lite_overview, lite_carts = (float(x) for x in sys.argv[1:7])
print(f"dashboard slowest page p95 with 1M carts = {pg_p95:.1f} ms postgres, {lite_p95:.1f} ms sqlite  (target <= 50)")
print(f"dashboard first load = overview {max(pg_overview, lite_overview):.0f} KB, "
      f"carts {max(pg_carts, lite_carts):.0f} KB  (target < 150)")
PY
    exit 0
fi

psql "$PG_BASE/postgres" -qc "CREATE DATABASE $DB_NAME" >/dev/null
PG_URL="$PG_BASE/$DB_NAME"
pg_best=$(bench_backend postgres "$PG_URL")

echo "== pgbench: the same upsert, one row per transaction, 32 clients" >&2
TENANT=$(psql "$PG_URL" -tAc "SELECT id FROM tenants LIMIT 1")
pgbench_tps=$(pgbench -n -c 32 -j 2 -T "$SECONDS_PER_STEP" -D tenant="'$TENANT'" \
    -f scripts/bench/upsert.sql "$PG_URL" 2>/dev/null | awk '/^tps/ {printf "%.0f", $3}')
printf '%-10s single-row upsert  %8s tps\n' pgbench "$pgbench_tps" | tee -a "$SUMMARY" >&2

sqlite_best=$(bench_backend sqlite "sqlite://$WORK/bench.db")
# The SQLite step whose rate is nearest half the best: its p99 is the latency goal.
sqlite_half=$(awk -v half="$((sqlite_best / 2))" '$1 == "sqlite" && $6 == "events/s" {
        d = $5 - half; if (d < 0) d = -d
        if (best == "" || d < bestd) { bestd = d; best = $5 " " $11 " " $2 " " $3 }
    } END { print best }' "$SUMMARY")

if [ "$ONLY" = ingest ]; then
    echo
    echo "== summary ($(nproc) cores, $(uname -sr), $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg))"
    cat "$SUMMARY"
    python3 - "$pg_best" "$pgbench_tps" "$sqlite_best" $sqlite_half <<'PY'
import sys
pg, pgb, lite = (float(x) for x in sys.argv[1:4])
half_rate, half_p99, half_mode, half_conns = sys.argv[4:8]
print(f"postgres ingest / pgbench single-row upsert = {pg / pgb:.2f}x  (target >= 3.0)")
print(f"sqlite ingest best = {lite:.0f} events/s  (target >= 20000)")
print(f"sqlite p99 near half the best = {half_p99} ms at {half_rate} events/s "
      f"({half_mode}, {half_conns} conns)  (target <= 25)")
PY
    exit 0
fi

echo "== worker: $WORKER_CARTS due carts to a loopback provider" >&2
worker_rates=""
for backend in postgres sqlite; do
    if [ "$backend" = postgres ]; then url=$(fresh_pg worker); else url="sqlite://$WORK/worker.db"; fi
    result=$("$BIN/cartback-bench" worker --database-url "$url" --worker-bin "$BIN/cartback-worker" \
        --carts "$WORKER_CARTS" | grep '^RESULT')
    rate=$(field emails_per_s <<<"$result"); rss=$(field peak_rss_mb <<<"$result")
    printf '%-10s worker  %6s emails in %6s s  %8s emails/s  peak RSS %s MB\n' "$backend" \
        "$WORKER_CARTS" "$(field seconds <<<"$result")" "$rate" "$rss" | tee -a "$SUMMARY" >&2
    worker_rates="$worker_rates $rate"
done

echo "== claim cost: 100 carts per claim, 1,000 due, 10k vs 1M carts" >&2
claim_ratios=""
for backend in postgres sqlite; do
    if [ "$backend" = postgres ]; then url=$(fresh_pg claims); else url="sqlite://$WORK/claims.db"; fi
    result=$("$BIN/cartback-bench" claim-cost --database-url "$url" | grep '^RESULT')
    ratio=$(field ratio <<<"$result")
    printf '%-10s claim   10k carts %7s ms  1M carts %7s ms  ratio %s\n' "$backend" \
        "$(field small_ms <<<"$result")" "$(field large_ms <<<"$result")" "$ratio" | tee -a "$SUMMARY" >&2
    printf '%-10s carts list page 1 (with total): 10k %7s ms  1M %7s ms;  by email: 10k %6s ms  1M %6s ms\n' "$backend" \
        "$(field list_small_ms <<<"$result")" "$(field list_large_ms <<<"$result")" \
        "$(field email_small_ms <<<"$result")" "$(field email_large_ms <<<"$result")" | tee -a "$SUMMARY" >&2
    printf '%-10s carts list abandoned in the last day (with total): 10k %7s ms  1M %7s ms\n' "$backend" \
        "$(field abandoned_small_ms <<<"$result")" "$(field abandoned_large_ms <<<"$result")" | tee -a "$SUMMARY" >&2
    claim_ratios="$claim_ratios $ratio"
done

bench_dashboard

echo
echo "== summary ($(nproc) cores, $(uname -sr), $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg))"
cat "$SUMMARY"
python3 - "$pg_best" "$pgbench_tps" "$sqlite_best" $worker_rates $claim_ratios $sqlite_half $dashboard_results <<'PY'
import sys
pg, pgb, lite, worker_pg, worker_lite, claim_pg, claim_lite = (float(x) for x in sys.argv[1:8])
half_rate, half_p99, half_mode, half_conns = sys.argv[8:12]
dash_pg_p95, dash_pg_overview, dash_pg_carts, dash_lite_p95, dash_lite_overview, dash_lite_carts = (
    float(x) for x in sys.argv[12:18])
print(f"postgres ingest / pgbench single-row upsert = {pg / pgb:.2f}x  (target >= 3.0)")
print(f"sqlite ingest best = {lite:.0f} events/s  (target >= 20000)")
print(f"sqlite p99 near half the best = {half_p99} ms at {half_rate} events/s "
      f"({half_mode}, {half_conns} conns)  (target <= 25)")
print(f"worker = {worker_pg:.0f} emails/s on postgres, {worker_lite:.0f} on sqlite  (target >= 1000)")
print(f"claim cost 1M / 10k carts = {claim_pg:.2f}x postgres, {claim_lite:.2f}x sqlite  (target <= 2)")
print(f"dashboard slowest page p95 with 1M carts = {dash_pg_p95:.1f} ms postgres, {dash_lite_p95:.1f} ms sqlite  (target <= 50)")
print(f"dashboard first load = overview {max(dash_pg_overview, dash_lite_overview):.0f} KB, "
      f"carts {max(dash_pg_carts, dash_lite_carts):.0f} KB  (target < 150)")
PY
