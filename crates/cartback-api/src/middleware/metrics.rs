//! `GET /metrics` in the Prometheus text format, written by hand: request
//! counters and latencies per route pattern (never the raw path, so tokens and
//! ids cannot blow up the label set), group-commit batch sizes, and a few gauges
//! counted in the database at scrape time with cheap queries. The database
//! gauges span all tenants: they describe the deployment, not a shop.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::http::Method;
use actix_web::http::header::{AUTHORIZATION, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDateTime, Utc};

use cartback_store::backlog::{Backlog, read_backlog};

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Upper bounds of the request duration histogram, in seconds.
const DURATION_BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];
/// Upper bounds of the ingest batch size histogram, in carts.
const BATCH_BUCKETS: [u64; 10] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
/// Label of requests no route matched (404s of every path share it).
pub(crate) const UNMATCHED: &str = "unmatched";

/// Carts per group-commit batch, process-wide: the ingest thread has no app
/// state to hand, and a process has one ingest writer.
static INGEST_BATCHES: AtomicHistogram = AtomicHistogram::new();

/// Records one committed ingest batch of `carts` carts.
pub(crate) fn record_ingest_batch(carts: usize) {
    INGEST_BATCHES.observe(carts as u64);
}

struct AtomicHistogram {
    /// Non-cumulative: `buckets[i]` counts values in (BATCH_BUCKETS[i-1], BATCH_BUCKETS[i]];
    /// the last slot counts values above every bound.
    buckets: [AtomicU64; BATCH_BUCKETS.len() + 1],
    sum: AtomicU64,
    count: AtomicU64,
}

impl AtomicHistogram {
    const fn new() -> AtomicHistogram {
        AtomicHistogram {
            buckets: [const { AtomicU64::new(0) }; BATCH_BUCKETS.len() + 1],
            sum: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    fn observe(&self, value: u64) {
        let slot = BATCH_BUCKETS
            .iter()
            .position(|&bound| value <= bound)
            .unwrap_or(BATCH_BUCKETS.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(value, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// The method as a label: the standard ones, anything else as `OTHER`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

#[derive(Debug, Default)]
struct RouteStats {
    /// (method, status) → requests.
    counts: Vec<(&'static str, u16, u64)>,
    /// Non-cumulative, like [`AtomicHistogram::buckets`].
    durations: [u64; DURATION_BUCKETS.len() + 1],
    duration_sum: f64,
    duration_count: u64,
}

/// Request metrics of one api process, and who may read them.
#[derive(Debug)]
pub struct Metrics {
    /// When set, scrapes need `Authorization: Bearer <token>`.
    token: Option<String>,
    routes: Mutex<HashMap<String, RouteStats>>,
}

impl Metrics {
    pub fn new(token: Option<String>) -> Metrics {
        Metrics {
            token: token.filter(|t| !t.is_empty()),
            routes: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one answered request under its route pattern.
    pub(crate) fn observe(&self, route: &str, method: &Method, status: u16, elapsed: Duration) {
        let method = method_label(method);
        let seconds = elapsed.as_secs_f64();
        let slot = DURATION_BUCKETS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(DURATION_BUCKETS.len());
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let stats = match routes.get_mut(route) {
            Some(stats) => stats,
            None => routes.entry(route.to_owned()).or_default(),
        };
        match stats
            .counts
            .iter_mut()
            .find(|(m, s, _)| *m == method && *s == status)
        {
            Some((_, _, n)) => *n += 1,
            None => stats.counts.push((method, status, 1)),
        }
        stats.durations[slot] += 1;
        stats.duration_sum += seconds;
        stats.duration_count += 1;
    }

    fn authorized(&self, request: &HttpRequest) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let presented = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim().as_bytes())
            .unwrap_or_default();
        constant_time_eq(presented, token.as_bytes())
    }

    fn render_http(&self, out: &mut String) {
        let routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let mut names: Vec<&String> = routes.keys().collect();
        names.sort();
        out.push_str(
            "# HELP cartback_http_requests_total HTTP requests answered, by route pattern, method and status.\n\
             # TYPE cartback_http_requests_total counter\n",
        );
        for name in &names {
            let route = escape(name);
            let mut counts = routes[*name].counts.clone();
            counts.sort();
            for (method, status, n) in counts {
                let _ = writeln!(
                    out,
                    "cartback_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str(
            "# HELP cartback_http_request_duration_seconds Time from receiving a request to its answer, by route pattern.\n\
             # TYPE cartback_http_request_duration_seconds histogram\n",
        );
        for name in &names {
            let route = escape(name);
            let stats = &routes[*name];
            let mut cumulative = 0;
            for (bound, n) in DURATION_BUCKETS.iter().zip(stats.durations.iter()) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "cartback_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "cartback_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\n\
                 cartback_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n\
                 cartback_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                stats.duration_count, stats.duration_sum, stats.duration_count
            );
        }
    }
}

fn render_ingest(out: &mut String) {
    out.push_str(
        "# HELP cartback_ingest_batch_size Carts written per group-commit transaction.\n\
         # TYPE cartback_ingest_batch_size histogram\n",
    );
    let mut cumulative = 0;
    for (bound, n) in BATCH_BUCKETS.iter().zip(INGEST_BATCHES.buckets.iter()) {
        cumulative += n.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "cartback_ingest_batch_size_bucket{{le=\"{bound}\"}} {cumulative}"
        );
    }
    let count = INGEST_BATCHES.count.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "cartback_ingest_batch_size_bucket{{le=\"+Inf\"}} {count}\n\
         cartback_ingest_batch_size_sum {}\n\
         cartback_ingest_batch_size_count {count}",
        INGEST_BATCHES.sum.load(Ordering::Relaxed)
    );
}

fn render_backlog(out: &mut String, backlog: &Backlog, now: NaiveDateTime) {
    let lag = backlog
        .oldest_due
        .map(|oldest| (now - oldest).num_milliseconds().max(0) as f64 / 1000.0)
        .unwrap_or(0.0);
    let _ = writeln!(
        out,
        "# HELP cartback_due_sends Carts whose next action (abandonment check or recovery email) is due now.\n\
         # TYPE cartback_due_sends gauge\n\
         cartback_due_sends {}\n\
         # HELP cartback_queue_lag_seconds Age of the oldest due cart: how far the workers are behind (0 when nothing is due).\n\
         # TYPE cartback_queue_lag_seconds gauge\n\
         cartback_queue_lag_seconds {lag}",
        backlog.due_carts
    );
    out.push_str(
        "# HELP cartback_sends_total Recovery email attempts recorded, by provider and current status.\n\
         # TYPE cartback_sends_total gauge\n",
    );
    let mut sends = backlog.sends.clone();
    sends.sort();
    for (provider, status, n) in &sends {
        let provider = escape(provider.as_deref().unwrap_or("none"));
        let status = escape(status);
        let _ = writeln!(
            out,
            "cartback_sends_total{{provider=\"{provider}\",status=\"{status}\"}} {n}"
        );
    }
    out.push_str(
        "# HELP cartback_webhook_deliveries Webhook deliveries, by status.\n\
         # TYPE cartback_webhook_deliveries gauge\n",
    );
    let mut deliveries = backlog.deliveries.clone();
    deliveries.sort();
    for (status, n) in &deliveries {
        let _ = writeln!(
            out,
            "cartback_webhook_deliveries{{status=\"{}\"}} {n}",
            escape(status)
        );
    }
    let _ = writeln!(
        out,
        "# HELP cartback_webhook_pending Webhook deliveries whose next attempt is due now.\n\
         # TYPE cartback_webhook_pending gauge\n\
         cartback_webhook_pending {}",
        backlog.deliveries_due
    );
    let _ = writeln!(
        out,
        "# HELP cartback_quarantined_carts Carts the worker could not process and keeps out of its claims until the shop updates them (see docs/operating.md).\n\
         # TYPE cartback_quarantined_carts gauge\n\
         cartback_quarantined_carts {}",
        backlog.quarantined
    );
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains(['\\', '"', '\n']) {
        return std::borrow::Cow::Borrowed(value);
    }
    std::borrow::Cow::Owned(
        value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n"),
    )
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `GET /metrics`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    operation_id = "metrics",
    summary = "Prometheus metrics",
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        (status = 401, description = "UNAUTHORIZED: the server has a metrics token and it was not presented", body = crate::error::ErrorEnvelope),
    ),
    security((), ("MetricsToken" = []))
)]
pub async fn metrics(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if !state.metrics.authorized(&request) {
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "metrics need Authorization: Bearer <metrics token>",
        ));
    }
    let store = state.store.clone();
    let now = Utc::now().naive_utc();
    // Without the database, the process' own metrics are still worth a scrape.
    let backlog = match web::block(move || read_backlog(&mut *store.conn()?, now)).await {
        Ok(Ok(backlog)) => Some(backlog),
        Ok(Err(error)) => {
            tracing::warn!(%error, "metrics: the database gauges could not be read");
            None
        }
        Err(error) => {
            tracing::warn!(%error, "metrics: the database gauges could not be read");
            None
        }
    };
    let mut out = String::with_capacity(8 * 1024);
    state.metrics.render_http(&mut out);
    render_ingest(&mut out);
    let _ = writeln!(
        out,
        "# HELP cartback_database_up Whether the database gauges below could be read at this scrape.\n\
         # TYPE cartback_database_up gauge\n\
         cartback_database_up {}",
        u8::from(backlog.is_some())
    );
    if let Some(backlog) = &backlog {
        render_backlog(&mut out, backlog, now);
    }
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8"))
        .insert_header(("Cache-Control", "no-store"))
        .body(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_per_route_method_and_status() {
        let metrics = Metrics::new(None);
        let fast = Duration::from_micros(700);
        metrics.observe("/api/v1/track", &Method::POST, 200, fast);
        metrics.observe("/api/v1/track", &Method::POST, 200, fast);
        metrics.observe(
            "/api/v1/track",
            &Method::POST,
            422,
            Duration::from_millis(30),
        );
        metrics.observe("/r/{token}", &Method::GET, 302, Duration::from_secs(9));
        let mut out = String::new();
        metrics.render_http(&mut out);
        assert!(out.contains(
            "cartback_http_requests_total{route=\"/api/v1/track\",method=\"POST\",status=\"200\"} 2\n"
        ));
        assert!(out.contains(
            "cartback_http_requests_total{route=\"/api/v1/track\",method=\"POST\",status=\"422\"} 1\n"
        ));
        assert!(out.contains(
            "cartback_http_request_duration_seconds_bucket{route=\"/api/v1/track\",le=\"0.001\"} 2\n"
        ));
        assert!(out.contains(
            "cartback_http_request_duration_seconds_bucket{route=\"/api/v1/track\",le=\"0.05\"} 3\n"
        ));
        assert!(out.contains(
            "cartback_http_request_duration_seconds_bucket{route=\"/r/{token}\",le=\"5\"} 0\n"
        ));
        assert!(out.contains(
            "cartback_http_request_duration_seconds_bucket{route=\"/r/{token}\",le=\"+Inf\"} 1\n"
        ));
        assert!(
            out.contains("cartback_http_request_duration_seconds_count{route=\"/r/{token}\"} 1\n")
        );
    }

    #[test]
    fn batch_sizes_fall_in_their_buckets() {
        let histogram = AtomicHistogram::new();
        for size in [1, 3, 256, 1000] {
            histogram.observe(size);
        }
        let counts: Vec<u64> = histogram
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        assert_eq!(counts, [1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1]);
        assert_eq!(histogram.sum.load(Ordering::Relaxed), 1260);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn the_token_is_compared_whole() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
    }
}
