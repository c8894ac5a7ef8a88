//! `dashboard`: the merchant dashboard's speed with 1M carts of one tenant in
//! the database. Seeds a year of a busy shop (carts, their abandonments, the
//! emails sent and the orders), makes a user with the real `cartback user
//! create`, runs the real `cartback-api`, signs in and requests every page N
//! times over loopback: p50 and p95 wall time per page (the server's time plus
//! a loopback round trip). Then the first-load transfer of the overview and
//! the carts pages (HTML and every asset they name, headers included) and
//! whether the assets are cached for good.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{TimeDelta, Utc};
use diesel::RunQueryDsl;
use diesel::sql_types::{BigInt, Text, Timestamp};

use cartback_store::DbConn;

use crate::{KillOnDrop, open};

/// The carts of chunk `k` were made on one day, `k` steps back from today,
/// spread over its seconds; a chunk is `CHUNK` carts.
const CHUNK: i64 = 5_000;

/// Per cart number `g`: status by `g % 10` (0-3 abandoned, 4 recovered, 5
/// converted, 6-7 expired, 8-9 active), one in seven in USD, the rest EUR.
const CARTS_POSTGRES: &str = "\
INSERT INTO carts (id, tenant_id, session_id, status, items, item_count, total_minor, currency, \
    customer_email, cycle, next_step, created_at, updated_at, last_activity_at, abandoned_at, ordered_at) \
SELECT 'cart_dash_' || g, $1, 'dash-' || g, \
    CASE WHEN g % 10 < 4 THEN 'abandoned' WHEN g % 10 = 4 THEN 'recovered' WHEN g % 10 = 5 THEN 'converted' \
         WHEN g % 10 < 8 THEN 'expired' ELSE 'active' END, \
    $2, 1, 1000 + g % 9000, CASE WHEN g % 7 = 0 THEN 'USD' ELSE 'EUR' END, \
    'shopper' || g || '@example.com', 0, 1, \
    $3 + make_interval(secs => g % 86000), $3 + make_interval(secs => g % 86000), \
    $3 + make_interval(secs => g % 86000), \
    CASE WHEN g % 10 < 5 THEN $3 + make_interval(secs => g % 86000 + 3600) END, \
    CASE WHEN g % 10 IN (4, 5) THEN $3 + make_interval(secs => g % 86000 + 10800) END \
FROM generate_series($4::bigint, $5::bigint) AS g";

const CARTS_SQLITE: &str = "\
WITH RECURSIVE seq(g) AS (SELECT ?4 UNION ALL SELECT g + 1 FROM seq WHERE g < ?5) \
INSERT INTO carts (id, tenant_id, session_id, status, items, item_count, total_minor, currency, \
    customer_email, cycle, next_step, created_at, updated_at, last_activity_at, abandoned_at, ordered_at) \
SELECT 'cart_dash_' || g, ?1, 'dash-' || g, \
    CASE WHEN g % 10 < 4 THEN 'abandoned' WHEN g % 10 = 4 THEN 'recovered' WHEN g % 10 = 5 THEN 'converted' \
         WHEN g % 10 < 8 THEN 'expired' ELSE 'active' END, \
    ?2, 1, 1000 + g % 9000, CASE WHEN g % 7 = 0 THEN 'USD' ELSE 'EUR' END, \
    'shopper' || g || '@example.com', 0, 1, \
    datetime(?3, '+' || (g % 86000) || ' seconds'), datetime(?3, '+' || (g % 86000) || ' seconds'), \
    datetime(?3, '+' || (g % 86000) || ' seconds'), \
    CASE WHEN g % 10 < 5 THEN datetime(?3, '+' || (g % 86000 + 3600) || ' seconds') END, \
    CASE WHEN g % 10 IN (4, 5) THEN datetime(?3, '+' || (g % 86000 + 10800) || ' seconds') END \
FROM seq";

/// The abandonments (with the cart's value, as the worker records them), the
/// first emails (a recovered cart's was clicked) and the orders of the carts
/// just added (`$2..=$3`).
const FACTS: [&str; 3] = [
    "INSERT INTO cart_events (id, tenant_id, cart_id, kind, step, detail, created_at, \
         cart_total_minor, cart_currency) \
     SELECT 'ev_dash_' || substr(id, 11), tenant_id, id, 'abandoned', NULL, NULL, abandoned_at, \
         total_minor, currency \
     FROM carts WHERE tenant_id = $1 AND abandoned_at IS NOT NULL \
       AND id IN (SELECT 'cart_dash_' || g FROM {range})",
    "INSERT INTO recovery_sends (id, tenant_id, cart_id, cycle, step, status, attempts, idempotency_key, \
         provider, created_at, updated_at, sent_at, click_count, first_clicked_at, last_clicked_at) \
     SELECT 'send_dash_' || substr(id, 11), tenant_id, id, 0, 0, 'sent', 1, 'idem_dash_' || substr(id, 11), \
         'resend', abandoned_at, abandoned_at, abandoned_at, \
         CASE WHEN status = 'recovered' THEN 1 ELSE 0 END, \
         CASE WHEN status = 'recovered' THEN ordered_at END, CASE WHEN status = 'recovered' THEN ordered_at END \
     FROM carts WHERE tenant_id = $1 AND abandoned_at IS NOT NULL \
       AND id IN (SELECT 'cart_dash_' || g FROM {range})",
    "INSERT INTO orders (id, tenant_id, order_ref, session_id, cart_id, total_minor, currency, attribution, \
         created_at, matched_by, source, customer_email) \
     SELECT 'ord_dash_' || substr(id, 11), tenant_id, 'A-' || substr(id, 11), session_id, id, total_minor, \
         currency, CASE WHEN status = 'recovered' THEN 'recovered' ELSE 'converted' END, ordered_at, \
         'session', 'track', customer_email \
     FROM carts WHERE tenant_id = $1 AND ordered_at IS NOT NULL \
       AND id IN (SELECT 'cart_dash_' || g FROM {range})",
];

/// Adds `carts` carts to `tenant`, spread over the last year, with their facts.
fn seed(conn: &mut DbConn, tenant: &str, carts: i64) -> anyhow::Result<()> {
    let items = serde_json::to_string(&crate::items())?;
    let chunks = (carts + CHUNK - 1) / CHUNK;
    // Two days back, so that no fact (up to a day and three hours after its
    // chunk's day) lies in the future.
    let today = Utc::now() - TimeDelta::days(2);
    let postgres = matches!(conn, DbConn::Postgres(_));
    for k in 0..chunks {
        let (from, to) = (k * CHUNK + 1, ((k + 1) * CHUNK).min(carts));
        // Chunk 0 is the newest; the oldest is a year back.
        let day = today - TimeDelta::seconds(k * 365 * 86_400 / chunks.max(1));
        let sql = if postgres {
            CARTS_POSTGRES
        } else {
            CARTS_SQLITE
        };
        diesel::sql_query(sql)
            .bind::<Text, _>(tenant)
            .bind::<Text, _>(&items)
            .bind::<Timestamp, _>(day.naive_utc())
            .bind::<BigInt, _>(from)
            .bind::<BigInt, _>(to)
            .execute(conn)?;
        let range = if postgres {
            "generate_series($2::bigint, $3::bigint) AS s(g)"
        } else {
            "(WITH RECURSIVE seq(g) AS (SELECT ?2 UNION ALL SELECT g + 1 FROM seq WHERE g < ?3) SELECT g FROM seq)"
        };
        for fact in FACTS {
            let mut sql = fact.replace("{range}", range);
            if !postgres {
                sql = sql.replace("$1", "?1");
            }
            diesel::sql_query(sql)
                .bind::<Text, _>(tenant)
                .bind::<BigInt, _>(from)
                .bind::<BigInt, _>(to)
                .execute(conn)?;
        }
    }
    // PostgreSQL answers the overview from its indexes alone (index-only scans)
    // once the visibility map is set, as autovacuum leaves a shop's tables;
    // right after a bulk load it is not, so vacuum as autovacuum would.
    let statistics = if postgres {
        "VACUUM ANALYZE"
    } else {
        "ANALYZE"
    };
    diesel::sql_query(statistics).execute(conn)?;
    Ok(())
}

/// What to run.
pub struct DashboardBench<'a> {
    pub database_url: &'a str,
    pub api_bin: &'a str,
    pub cli_bin: &'a str,
    pub carts: i64,
    pub requests: usize,
}

const EMAIL: &str = "owner@bench.example";
const PASSWORD: &str = "bench password 1";

fn create_user(bench: &DashboardBench<'_>, tenant: &str) -> anyhow::Result<()> {
    let mut child = Command::new(bench.cli_bin)
        .env("DATABASE_URL", bench.database_url)
        .env("CARTBACK_LOG", "warn")
        .args([
            "user",
            "create",
            "--tenant",
            tenant,
            "--email",
            EMAIL,
            "--role",
            "owner",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .context("starting cartback user create")?;
    writeln!(child.stdin.take().context("stdin")?, "{PASSWORD}")?;
    if !child.wait()?.success() {
        bail!("cartback user create failed");
    }
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The session cookie of a sign-in.
fn sign_in(client: &reqwest::blocking::Client, base: &str) -> anyhow::Result<String> {
    let response = client
        .post(format!("{base}/dashboard/login"))
        .header("origin", base)
        .form(&[
            ("email", EMAIL),
            ("password", PASSWORD),
            ("next", "/dashboard"),
        ])
        .send()?;
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("cartback_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    match cookie {
        Some(cookie) if response.status().as_u16() == 303 => Ok(cookie),
        _ => bail!("sign-in answered {}", response.status()),
    }
}

/// Bytes of an answer on the wire (no compression is used): status line,
/// headers and body.
fn wire_bytes(
    response: reqwest::blocking::Response,
) -> anyhow::Result<(usize, reqwest::header::HeaderMap, String)> {
    let headers = response.headers().clone();
    let head: usize = 17
        + headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>();
    let body = response.text()?;
    Ok((head + body.len(), headers, body))
}

/// Every `/dashboard/assets/…` a page names.
fn assets_of(html: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = html;
    while let Some(at) = rest.find("/dashboard/assets/") {
        let tail = &rest[at..];
        let end = tail.find(['"', '\'', ' ', '>']).unwrap_or(tail.len());
        found.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    found
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn run(bench: &DashboardBench<'_>) -> anyhow::Result<()> {
    let (store, tenant) = open(bench.database_url)?;
    let seeding = Instant::now();
    seed(&mut *store.conn()?, &tenant, bench.carts)?;
    let seeded_s = seeding.elapsed().as_secs_f64();
    drop(store);
    create_user(bench, &tenant)?;
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let api = KillOnDrop(
        Command::new(bench.api_bin)
            .env("DATABASE_URL", bench.database_url)
            .env("CARTBACK_BIND", format!("127.0.0.1:{port}"))
            .env("CARTBACK_PUBLIC_URL", &base)
            .env("CARTBACK_LOG", "warn")
            .arg("--no-migrate")
            .stdout(Stdio::null())
            .spawn()
            .context("starting cartback-api")?,
    );
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;
    let ready = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        client
            .get(format!("{base}/readyz"))
            .send()
            .is_ok_and(|r| r.status().is_success())
    });
    if !ready {
        bail!("the api did not start");
    }
    let cookie = sign_in(&client, &base)?;
    let cart = "cart_dash_7";
    let pages = [
        ("overview-30d", "/dashboard".to_owned()),
        ("overview-90d", "/dashboard?period=90d".to_owned()),
        ("carts", "/dashboard/carts".to_owned()),
        (
            "carts-abandoned",
            "/dashboard/carts?status=abandoned".to_owned(),
        ),
        (
            "carts-by-email",
            "/dashboard/carts?email=shopper7%40example.com".to_owned(),
        ),
        ("cart", format!("/dashboard/carts/{cart}")),
        ("recovery", "/dashboard/recovery".to_owned()),
        ("emails", "/dashboard/emails".to_owned()),
        ("sending", "/dashboard/sending".to_owned()),
        ("webhooks", "/dashboard/webhooks".to_owned()),
        ("suppressions", "/dashboard/suppressions".to_owned()),
        ("developers", "/dashboard/developers".to_owned()),
        ("team", "/dashboard/team".to_owned()),
    ];
    let get = |path: &str| {
        client
            .get(format!("{base}{path}"))
            .header("cookie", &cookie)
            .send()
    };
    let mut slowest_p95: f64 = 0.0;
    for (name, path) in &pages {
        let mut samples = Vec::with_capacity(bench.requests);
        let mut first_ms = 0.0;
        for round in 0..bench.requests + 3 {
            let started = Instant::now();
            let response = get(path)?;
            let status = response.status();
            let _ = response.bytes()?;
            let took = started.elapsed().as_secs_f64() * 1000.0;
            if status.as_u16() != 200 {
                bail!("{path} answered {status}");
            }
            // The first three warm the connection pool and caches; the very
            // first also makes the overview's analytics summary of the
            // period (no worker runs here to have made it before).
            if round == 0 {
                first_ms = took;
            }
            if round >= 3 {
                samples.push(took);
            }
        }
        samples.sort_by(f64::total_cmp);
        let (p50, p95) = (percentile(&samples, 0.5), percentile(&samples, 0.95));
        slowest_p95 = slowest_p95.max(p95);
        println!(
            "RESULT page={name} requests={} p50_ms={p50:.1} p95_ms={p95:.1} first_ms={first_ms:.1}",
            samples.len()
        );
    }
    // First load: each page's HTML and every asset it names (once per page load;
    // assets the two pages share are fetched again, as a fresh browser would for
    // the first page and not for the second, so this overstates).
    let mut first_load = Vec::new();
    let mut immutable = true;
    for path in ["/dashboard", "/dashboard/carts"] {
        let (mut bytes, _, html) = wire_bytes(get(path)?)?;
        for asset in assets_of(&html) {
            let (size, headers, _) = wire_bytes(get(&asset)?)?;
            bytes += size;
            immutable &= headers
                .get("cache-control")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("immutable"));
        }
        first_load.push(bytes);
    }
    drop(api);
    println!(
        "RESULT carts={} seeded_s={seeded_s:.1} slowest_p95_ms={slowest_p95:.1} overview_first_load_kb={:.1} carts_first_load_kb={:.1} assets_immutable={immutable}",
        bench.carts,
        first_load[0] as f64 / 1024.0,
        first_load[1] as f64 / 1024.0,
    );
    Ok(())
}
