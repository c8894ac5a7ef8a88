//! The worker half of cartback's benchmark, driven by `scripts/bench.sh`:
//!
//! - `worker`: seeds N due carts, serves a loopback provider (Resend's API shape),
//!   runs the real `cartback-worker` binary against both and reports emails/s and
//!   the worker's peak RSS;
//! - `claim-cost`: the cost of one claim of due carts with 10k and with 1M carts in
//!   the table (the same number due), and their ratio;
//! - `dashboard`: every dashboard page's p50/p95 time with 1M carts of one
//!   tenant, and the first-load transfer of the overview and carts pages.
//!
//! Each prints `RESULT key=value …` lines for the script's summary.

mod dashboard;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{TimeDelta, Utc};
use clap::{Parser, Subcommand};
use diesel::RunQueryDsl;
use diesel::sql_types::{BigInt, Text, Timestamp};

use cartback_domain::{CartItem, RecoveryPolicy};
use cartback_store::carts::{CartUpsert, claim_due_carts, upsert_carts};
use cartback_store::sends::{SendStatus, count_sends};
use cartback_store::tenants::{NewTenant, create_tenant};
use cartback_store::{DbConn, Store};

#[derive(Parser)]
#[command(about = "cartback benchmark parts that need more than wrk and pgbench")]
struct Cli {
    #[command(subcommand)]
    command: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// N due carts, all sent by a real cartback-worker to a loopback provider.
    Worker {
        /// An empty database (it is migrated and filled here).
        #[arg(long)]
        database_url: String,
        /// The cartback-worker binary to run.
        #[arg(long)]
        worker_bin: String,
        #[arg(long, default_value_t = 20_000)]
        carts: usize,
        /// Extra environment for the worker, KEY=VALUE (batch size, concurrency…).
        #[arg(long = "worker-env")]
        worker_env: Vec<String>,
    },
    /// Claim cost with a small and a large table, the same number of carts due.
    ClaimCost {
        /// An empty database (it is migrated and filled here).
        #[arg(long)]
        database_url: String,
        /// Carts due in both measurements.
        #[arg(long, default_value_t = 1_000)]
        due: i64,
        #[arg(long, default_value_t = 10_000)]
        small: i64,
        #[arg(long, default_value_t = 1_000_000)]
        large: i64,
        /// Carts taken per claim (the worker's batch size).
        #[arg(long, default_value_t = 100)]
        batch: i64,
    },
    /// Every dashboard page timed with a year of carts of one tenant.
    Dashboard {
        /// An empty database (it is migrated and filled here).
        #[arg(long)]
        database_url: String,
        /// The cartback-api binary to run.
        #[arg(long)]
        api_bin: String,
        /// The cartback binary (its `user create` makes the signed-in owner).
        #[arg(long)]
        cli_bin: String,
        #[arg(long, default_value_t = 1_000_000)]
        carts: i64,
        /// Timed requests per page (after three untimed ones).
        #[arg(long, default_value_t = 40)]
        requests: usize,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Bench::Worker {
            database_url,
            worker_bin,
            carts,
            worker_env,
        } => worker(&database_url, &worker_bin, carts, &worker_env),
        Bench::ClaimCost {
            database_url,
            due,
            small,
            large,
            batch,
        } => claim_cost(&database_url, due, small, large, batch),
        Bench::Dashboard {
            database_url,
            api_bin,
            cli_bin,
            carts,
            requests,
        } => dashboard::run(&dashboard::DashboardBench {
            database_url: &database_url,
            api_bin: &api_bin,
            cli_bin: &cli_bin,
            carts,
            requests,
        }),
    }
}

fn open(url: &str) -> anyhow::Result<(Store, String)> {
    let store = Store::open(url, 4)?;
    store.migrate()?;
    let tenant = create_tenant(
        &mut *store.conn()?,
        &NewTenant {
            name: "Bench".into(),
            from_email: "shop@example.com".into(),
            from_name: None,
            recovery_url: Some("https://shop.example/cart".into()),
            policy: RecoveryPolicy::with_single_delay(TimeDelta::hours(1)),
        },
        Utc::now().naive_utc(),
    )?;
    Ok((store, tenant.id))
}

fn items() -> Vec<CartItem> {
    vec![CartItem {
        id: "sku-1".into(),
        name: "Linen shirt".into(),
        unit_price_minor: 4990,
        quantity: 1,
        image_url: None,
        url: None,
        variant_id: None,
    }]
}

/// Peak resident set of a process, in MB (Linux `VmHWM`).
fn peak_rss_mb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .context("no VmHWM in /proc/<pid>/status")?;
    Ok(kb / 1024)
}

/// A provider that accepts everything at once, in Resend's shape.
async fn start_stub() -> anyhow::Result<(u16, Arc<AtomicU64>)> {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let server = HttpServer::new(move || {
        let counter = counter.clone();
        App::new().route(
                "/emails",
                web::post().to(move |_body: web::Bytes| {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    async move {
                        HttpResponse::Ok().json(serde_json::json!({ "id": format!("stub-{n}") }))
                    }
                }),
            )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    tokio::spawn(server);
    Ok((port, received))
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn worker(url: &str, worker_bin: &str, carts: usize, extra_env: &[String]) -> anyhow::Result<()> {
    let (store, tenant) = open(url)?;
    let activity = Utc::now() - TimeDelta::hours(2);
    let upserts: Vec<CartUpsert> = (0..carts)
        .map(|i| CartUpsert {
            tenant_id: tenant.clone(),
            session_id: format!("bench-{i}"),
            items: items(),
            total_minor: 4990,
            subtotal_minor: None,
            currency: "EUR".into(),
            customer_email: Some(format!("shopper{i}@example.com")),
            customer_name: None,
            locale: None,
            consent: None,
            now: activity,
            next_action_at: activity + TimeDelta::hours(1),
        })
        .collect();
    let mut conn = store.conn()?;
    for chunk in upserts.chunks(500) {
        for result in upsert_carts(&mut conn, chunk) {
            result?;
        }
    }
    drop(conn);

    let runtime = tokio::runtime::Runtime::new()?;
    let (port, received) = runtime.block_on(start_stub())?;
    let mut command = Command::new(worker_bin);
    command
        .env("DATABASE_URL", url)
        .env("CARTBACK_LOG", "warn")
        .env("CARTBACK_EMAIL_PROVIDER", "resend")
        .env("CARTBACK_PROVIDER_API_KEY", "re_bench")
        .env(
            "CARTBACK_PROVIDER_BASE_URL",
            format!("http://127.0.0.1:{port}"),
        )
        .env("CARTBACK_POLL_INTERVAL", "20ms")
        .stdout(Stdio::null());
    for pair in extra_env {
        let (key, value) = pair
            .split_once('=')
            .context("--worker-env takes KEY=VALUE")?;
        command.env(key, value);
    }
    let started = Instant::now();
    let child = KillOnDrop(command.spawn().context("starting cartback-worker")?);
    let pid = child.0.id();
    let target = i64::try_from(carts)?;
    let mut conn = store.conn()?;
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let sent = count_sends(&mut conn, &tenant, SendStatus::Sent)?;
        if sent >= target {
            break;
        }
        if started.elapsed() > Duration::from_secs(300) {
            bail!("only {sent} of {carts} sent after 5 minutes");
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rss = peak_rss_mb(pid)?;
    drop(child);
    let rate = carts as f64 / elapsed;
    println!(
        "RESULT emails={carts} seconds={elapsed:.2} emails_per_s={rate:.0} peak_rss_mb={rss} provider_requests={}",
        received.load(Ordering::Relaxed)
    );
    Ok(())
}

const SEED_POSTGRES: &str = "\
INSERT INTO carts (id, tenant_id, session_id, status, items, item_count, total_minor, currency, \
    customer_email, cycle, next_step, created_at, updated_at, last_activity_at, next_action_at, \
    abandoned_at) \
SELECT 'cart_seed_' || g, $1, 'seed-' || g, \
    CASE WHEN g > $6 AND g % 2 = 0 THEN 'abandoned' ELSE 'active' END, $2, 1, 4990, 'EUR', \
    'shopper' || g || '@example.com', 0, 0, $3, $3, $3, \
    CASE WHEN g <= $6 THEN $4 WHEN g % 2 = 0 THEN NULL ELSE $5 END, \
    CASE WHEN g > $6 AND g % 2 = 0 THEN $3 - (g % 100) * INTERVAL '1 day' END \
FROM generate_series($7::bigint, $8::bigint) AS g";

const SEED_SQLITE: &str = "\
WITH RECURSIVE seq(g) AS (SELECT ?7 UNION ALL SELECT g + 1 FROM seq WHERE g < ?8) \
INSERT INTO carts (id, tenant_id, session_id, status, items, item_count, total_minor, currency, \
    customer_email, cycle, next_step, created_at, updated_at, last_activity_at, next_action_at, \
    abandoned_at) \
SELECT 'cart_seed_' || g, ?1, 'seed-' || g, \
    CASE WHEN g > ?6 AND g % 2 = 0 THEN 'abandoned' ELSE 'active' END, ?2, 1, 4990, 'EUR', \
    'shopper' || g || '@example.com', 0, 0, ?3, ?3, ?3, \
    CASE WHEN g <= ?6 THEN ?4 WHEN g % 2 = 0 THEN NULL ELSE ?5 END, \
    CASE WHEN g > ?6 AND g % 2 = 0 THEN datetime(?3, '-' || (g % 100) || ' days') END \
FROM seq";

/// Adds carts numbered `from..=to`: those up to `due` are due now, of the rest half
/// wait for a later step (in the index, not yet due) and half are finished (no
/// `next_action_at`, outside the partial index): abandoned, on one of the last
/// 100 days, so about one in 200 carts was abandoned in the last day.
fn seed(conn: &mut DbConn, tenant: &str, due: i64, from: i64, to: i64) -> anyhow::Result<()> {
    let sql = match conn {
        DbConn::Postgres(_) => SEED_POSTGRES,
        DbConn::Sqlite(_) => SEED_SQLITE,
    };
    let now = Utc::now();
    let items = serde_json::to_string(&items())?;
    // In chunks, so SQLite's recursion and PostgreSQL's transaction stay modest.
    let mut start = from;
    while start <= to {
        let end = (start + 99_999).min(to);
        diesel::sql_query(sql)
            .bind::<Text, _>(tenant)
            .bind::<Text, _>(&items)
            .bind::<Timestamp, _>((now - TimeDelta::hours(2)).naive_utc())
            .bind::<Timestamp, _>((now - TimeDelta::hours(1)).naive_utc())
            .bind::<Timestamp, _>((now + TimeDelta::days(1)).naive_utc())
            .bind::<BigInt, _>(due)
            .bind::<BigInt, _>(start)
            .bind::<BigInt, _>(end)
            .execute(conn)?;
        start = end + 1;
    }
    let analyze = match conn {
        DbConn::Postgres(_) => "ANALYZE carts",
        DbConn::Sqlite(_) => "ANALYZE",
    };
    diesel::sql_query(analyze).execute(conn)?;
    Ok(())
}

/// Median milliseconds of one claim of `batch` carts, over rounds that each claim
/// every due cart and then (untimed) make them due again.
fn time_claims(conn: &mut DbConn, tenant: &str, due: i64, batch: i64) -> anyhow::Result<f64> {
    let mut samples = Vec::new();
    for _ in 0..5 {
        let mut claimed_ids = Vec::new();
        loop {
            let now = Utc::now();
            let started = Instant::now();
            let claimed = claim_due_carts(conn, "bench", now, now + TimeDelta::hours(1), batch)?;
            let took = started.elapsed().as_secs_f64() * 1000.0;
            if claimed.is_empty() {
                break;
            }
            samples.push(took);
            claimed_ids.extend(claimed.into_iter().map(|c| c.id));
        }
        if i64::try_from(claimed_ids.len())? != due {
            bail!("claimed {} carts, expected {due}", claimed_ids.len());
        }
        let past = (Utc::now() - TimeDelta::hours(1)).naive_utc();
        for ids in claimed_ids.chunks(500) {
            use cartback_store::schema::carts;
            use diesel::prelude::*;
            diesel::update(
                carts::table
                    .filter(carts::tenant_id.eq(tenant))
                    .filter(carts::id.eq_any(ids)),
            )
            .set((
                carts::locked_by.eq(None::<String>),
                carts::next_action_at.eq(past),
            ))
            .execute(conn)?;
        }
    }
    samples.sort_by(f64::total_cmp);
    Ok(samples[samples.len() / 2])
}

/// Median milliseconds of three carts-list requests a back office makes: the
/// first page with no filter (its total counts every cart of the tenant), the
/// carts of one shopper's address, and the first page (with its total) of the
/// carts abandoned in the last day.
fn time_lists(conn: &mut DbConn, tenant: &str) -> anyhow::Result<(f64, f64, f64)> {
    use cartback_store::cart_admin::{CartFilter, list_carts};
    let mut median = |filter: &CartFilter| -> anyhow::Result<f64> {
        let mut samples = Vec::new();
        for _ in 0..7 {
            let started = Instant::now();
            let (rows, _) = list_carts(conn, tenant, filter, 1, 50)?;
            samples.push(started.elapsed().as_secs_f64() * 1000.0);
            if rows.is_empty() {
                bail!("the list found no carts");
            }
        }
        samples.sort_by(f64::total_cmp);
        Ok(samples[samples.len() / 2])
    };
    let first_page = median(&CartFilter::default())?;
    let by_email = median(&CartFilter {
        email: Some("Shopper7@example.com".to_owned()),
        ..CartFilter::default()
    })?;
    let abandoned_lately = median(&CartFilter {
        abandoned_after: Some((Utc::now() - TimeDelta::days(1)).naive_utc()),
        ..CartFilter::default()
    })?;
    Ok((first_page, by_email, abandoned_lately))
}

fn claim_cost(url: &str, due: i64, small: i64, large: i64, batch: i64) -> anyhow::Result<()> {
    let (store, tenant) = open(url)?;
    let mut conn = store.conn()?;
    seed(&mut conn, &tenant, due, 1, small)?;
    let small_ms = time_claims(&mut conn, &tenant, due, batch)?;
    let (small_list, small_email, small_abandoned) = time_lists(&mut conn, &tenant)?;
    seed(&mut conn, &tenant, due, small + 1, large)?;
    let large_ms = time_claims(&mut conn, &tenant, due, batch)?;
    let (large_list, large_email, large_abandoned) = time_lists(&mut conn, &tenant)?;
    println!(
        "RESULT due={due} batch={batch} small={small} small_ms={small_ms:.3} large={large} large_ms={large_ms:.3} ratio={:.2} \
         list_small_ms={small_list:.2} list_large_ms={large_list:.2} email_small_ms={small_email:.2} email_large_ms={large_email:.2} \
         abandoned_small_ms={small_abandoned:.2} abandoned_large_ms={large_abandoned:.2}",
        large_ms / small_ms
    );
    Ok(())
}
