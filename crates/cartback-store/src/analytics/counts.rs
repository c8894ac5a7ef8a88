//! The facts of a stretch of time, counted by the database: what both the
//! live part of a report and the summary's roll-forward ask for.
//!
//! Each query reads one of the covering indexes of the `analytics_counts`
//! migration (or `recovery_sends_first_click_idx`) over its stretch of time
//! only. Abandonments, orders and sent emails come grouped per piece of a
//! local day ([`Pieces`]) and per currency or step; clicks and credits come
//! one row per email with the instant of the event that decided them (the
//! summary files them under that event's day), or counted per step.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::deserialize::QueryableByName;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};

use cartback_domain::OrderAttribution;

use crate::connection::DbConn;
use crate::error::{StoreError, StoreResult};
use crate::events::CartEventKind;
use crate::sends::SendStatus;
use crate::sql::dialect;

/// Amounts are summed in two parts, millions and the rest, so that no SQL sum
/// can overflow (SQLite stops with an error, PostgreSQL widens to numeric);
/// Rust adds them up saturating, as [`cartback_domain::analyze`] does.
pub(crate) const SPLIT: i64 = 1_000_000;

/// The instants `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Span {
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Span {
        Span { from, to }
    }

    pub fn is_empty(&self) -> bool {
        self.from >= self.to
    }
}

/// How facts are grouped in time: pieces of `seconds` counted from `origin`
/// (a period's start and [`cartback_domain::AnalyticsPeriod::piece_seconds`]),
/// so that no piece holds instants of two local days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pieces {
    pub origin: DateTime<Utc>,
    pub seconds: i64,
}

/// The piece a row's `column` falls in, as the piece's first instant, in each
/// dialect. Binds: `$2` the origin, `$5` the piece in seconds.
fn piece_of(conn: &DbConn, column: &str) -> String {
    match conn {
        DbConn::Postgres(_) => format!("date_bin(make_interval(secs => $5), {column}, $2)"),
        DbConn::Sqlite(_) => format!(
            "datetime(unixepoch($2) + ((unixepoch({column}) - unixepoch($2)) / $5) * $5, 'unixepoch')"
        ),
    }
}

/// How many rows of a group had an amount in `column`, and their sum in two
/// parts (see [`SPLIT`]).
fn amount_sums(column: &str) -> String {
    format!(
        "COUNT({column}) AS valued, \
         CAST(SUM({column} / {SPLIT}) AS BIGINT) AS millions, \
         CAST(SUM({column} % {SPLIT}) AS BIGINT) AS rest"
    )
}

/// A group of facts of one piece: what [`abandoned`], [`orders`] and [`sent`]
/// return. `kind` is `abandoned`, an order's attribution or `sent`; `label`
/// the currency ('' for abandonments whose value was never known) or, for
/// sent emails, the step.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub(crate) struct Group {
    #[diesel(sql_type = Timestamp)]
    pub piece: NaiveDateTime,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub label: String,
    #[diesel(sql_type = BigInt)]
    pub events: i64,
    #[diesel(sql_type = BigInt)]
    pub valued: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub millions: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub rest: Option<i64>,
}

/// The rows of `sql`, whose binds are `$1` the tenant, `$2` the pieces'
/// origin, `$3` and `$4` the span, `$5` the piece in seconds.
fn load_groups(
    conn: &mut DbConn,
    sql: &str,
    tenant_id: &str,
    span: Span,
    pieces: Pieces,
) -> StoreResult<Vec<Group>> {
    if span.is_empty() {
        return Ok(Vec::new());
    }
    Ok(diesel::sql_query(dialect(conn, sql))
        .bind::<Text, _>(tenant_id)
        .bind::<Timestamp, _>(pieces.origin.naive_utc())
        .bind::<Timestamp, _>(span.from.naive_utc())
        .bind::<Timestamp, _>(span.to.naive_utc())
        .bind::<BigInt, _>(pieces.seconds)
        .load(conn)?)
}

/// The `abandoned` history events of `span` per piece and currency, with the
/// carts' values of that moment (`cart_events_abandoned_idx`).
pub(crate) fn abandoned(
    conn: &mut DbConn,
    tenant_id: &str,
    span: Span,
    pieces: Pieces,
) -> StoreResult<Vec<Group>> {
    let kind = CartEventKind::Abandoned.as_str();
    let sql = format!(
        "SELECT {piece} AS piece, '{kind}' AS kind, COALESCE(cart_currency, '') AS label, \
           COUNT(*) AS events, {sums} \
         FROM cart_events \
         WHERE tenant_id = $1 AND kind = '{kind}' AND created_at >= $3 AND created_at < $4 \
         GROUP BY 1, 2, 3",
        piece = piece_of(conn, "created_at"),
        sums = amount_sums("cart_total_minor"),
    );
    load_groups(conn, &sql, tenant_id, span, pieces)
}

/// The recovered and converted orders of `span` per piece, attribution and
/// currency (`orders_tenant_attribution_idx`).
pub(crate) fn orders(
    conn: &mut DbConn,
    tenant_id: &str,
    span: Span,
    pieces: Pieces,
) -> StoreResult<Vec<Group>> {
    let sql = format!(
        "SELECT {piece} AS piece, attribution AS kind, currency AS label, COUNT(*) AS events, {sums} \
         FROM orders \
         WHERE tenant_id = $1 AND attribution IN ('{recovered}', '{converted}') \
           AND created_at >= $3 AND created_at < $4 \
         GROUP BY 1, 2, 3",
        piece = piece_of(conn, "created_at"),
        sums = amount_sums("total_minor"),
        recovered = OrderAttribution::Recovered.as_str(),
        converted = OrderAttribution::Converted.as_str(),
    );
    load_groups(conn, &sql, tenant_id, span, pieces)
}

/// The emails sent in `span` per piece and step (`recovery_sends_sent_idx`).
pub(crate) fn sent(
    conn: &mut DbConn,
    tenant_id: &str,
    span: Span,
    pieces: Pieces,
) -> StoreResult<Vec<Group>> {
    let sql = format!(
        "SELECT {piece} AS piece, 'sent' AS kind, CAST(step AS TEXT) AS label, COUNT(*) AS events, \
           CAST(0 AS BIGINT) AS valued, CAST(NULL AS BIGINT) AS millions, \
           CAST(NULL AS BIGINT) AS rest \
         FROM recovery_sends \
         WHERE tenant_id = $1 AND status = '{sent}' AND sent_at >= $3 AND sent_at < $4 \
         GROUP BY 1, 2, 3",
        piece = piece_of(conn, "sent_at"),
        sent = SendStatus::Sent.as_str(),
    );
    load_groups(conn, &sql, tenant_id, span, pieces)
}

/// Counts of one step of the sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub(crate) struct StepCount {
    #[diesel(sql_type = Integer)]
    pub step: i32,
    #[diesel(sql_type = BigInt)]
    pub sent: i64,
    #[diesel(sql_type = BigInt)]
    pub clicked: i64,
}

/// The emails sent in `span` per step: how many, and how many of them were
/// clicked, whenever that was.
pub(crate) fn steps(conn: &mut DbConn, tenant_id: &str, span: Span) -> StoreResult<Vec<StepCount>> {
    if span.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT step, COUNT(*) AS sent, COUNT(CASE WHEN click_count > 0 THEN 1 END) AS clicked \
         FROM recovery_sends \
         WHERE tenant_id = $1 AND status = '{sent}' AND sent_at >= $2 AND sent_at < $3 \
         GROUP BY step",
        sent = SendStatus::Sent.as_str(),
    );
    Ok(diesel::sql_query(dialect(conn, &sql))
        .bind::<Text, _>(tenant_id)
        .bind::<Timestamp, _>(span.from.naive_utc())
        .bind::<Timestamp, _>(span.to.naive_utc())
        .load(conn)?)
}

/// The stand-in for "no end" in a [`Horizon`]: later than any fact.
fn no_end() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(DateTime::<Utc>::MAX_UTC, |at| at.and_utc())
}

/// When the events that decide a click or a credit happened: `[from, to)`,
/// either end open when None.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Horizon {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl Horizon {
    pub fn between(from: DateTime<Utc>, to: DateTime<Utc>) -> Horizon {
        Horizon {
            from: Some(from),
            to: Some(to),
        }
    }

    pub fn since(from: DateTime<Utc>) -> Horizon {
        Horizon {
            from: Some(from),
            to: None,
        }
    }

    pub fn before(to: DateTime<Utc>) -> Horizon {
        Horizon {
            from: None,
            to: Some(to),
        }
    }
}

/// An email, with the instant of the event that decided it: its first click,
/// or the order its recovery is credited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub(crate) struct Decided {
    #[diesel(sql_type = Integer)]
    pub step: i32,
    #[diesel(sql_type = Timestamp)]
    pub sent_at: NaiveDateTime,
    #[diesel(sql_type = Timestamp)]
    pub at: NaiveDateTime,
}

/// The clicked emails sent in `sends` whose click falls in `horizon`, one row
/// each with the click's instant.
///
/// An email counts as clicked from the instant of its first click,
/// `first_clicked_at` (stamped once, by the click that makes `click_count`
/// 1), or from its sending when that is later or was never stamped (rows
/// written before the stamp existed). Emails sent inside the horizon are read
/// from `recovery_sends_sent_idx`; emails sent before it can only have been
/// clicked inside it through `first_clicked_at`, and are found through
/// `recovery_sends_first_click_idx`.
pub(crate) fn clicks(
    conn: &mut DbConn,
    tenant_id: &str,
    sends: Span,
    horizon: Horizon,
) -> StoreResult<Vec<Decided>> {
    if sends.is_empty() {
        return Ok(Vec::new());
    }
    let sent = SendStatus::Sent.as_str();
    let start = horizon.from.map_or(sends.from, |from| from.max(sends.from));
    let end = horizon.to.unwrap_or_else(no_end);
    let clicked_at = "CASE WHEN first_clicked_at > sent_at THEN first_clicked_at ELSE sent_at END";
    let mut rows: Vec<Decided> = Vec::new();
    // Sent inside the horizon: clicked at or after the sending.
    if start < sends.to {
        let sql = format!(
            "SELECT step, sent_at, {clicked_at} AS at FROM recovery_sends \
             WHERE tenant_id = $1 AND status = '{sent}' AND sent_at >= $2 AND sent_at < $3 \
               AND click_count > 0 AND {clicked_at} < $4"
        );
        rows.extend(
            diesel::sql_query(dialect(conn, &sql))
                .bind::<Text, _>(tenant_id)
                .bind::<Timestamp, _>(start.naive_utc())
                .bind::<Timestamp, _>(sends.to.naive_utc())
                .bind::<Timestamp, _>(end.naive_utc())
                .load::<Decided>(conn)?,
        );
    }
    // Sent before the horizon, first clicked inside it.
    if let Some(from) = horizon.from
        && sends.from < from.min(sends.to)
    {
        let sql = format!(
            "SELECT step, sent_at, first_clicked_at AS at FROM recovery_sends \
             WHERE tenant_id = $1 AND status = '{sent}' AND first_clicked_at IS NOT NULL \
               AND first_clicked_at >= $4 AND first_clicked_at < $5 \
               AND sent_at >= $2 AND sent_at < $3 AND click_count > 0"
        );
        rows.extend(
            diesel::sql_query(dialect(conn, &sql))
                .bind::<Text, _>(tenant_id)
                .bind::<Timestamp, _>(sends.from.naive_utc())
                .bind::<Timestamp, _>(from.min(sends.to).naive_utc())
                .bind::<Timestamp, _>(from.naive_utc())
                .bind::<Timestamp, _>(end.naive_utc())
                .load::<Decided>(conn)?,
        );
    }
    Ok(rows)
}

/// The SQL of [`credits`] and [`credits_per_step`]: the emails sent in
/// `[$2, $3)` credited with a recovery by an order of `[$4, $5)` — the first
/// order that recovered the cart at or after the email, with no other email
/// of the cart in between ([`cartback_domain::SendFact::credited_with_recovery`]).
/// Driven from the recovered orders of the horizon, through
/// `orders_tenant_attribution_idx` and the cart's emails on
/// the `(cart_id, cycle, step)` key. With `$6` (a horizon that starts after the
/// emails' span does), an email whose cart was recovered in `[its sending, $6)`
/// is credited before the horizon, so it is left out.
fn credits_sql(per_step: bool, earlier_orders: bool) -> String {
    let sent = SendStatus::Sent.as_str();
    let recovered = OrderAttribution::Recovered.as_str();
    let earlier = if earlier_orders {
        format!(
            "AND NOT EXISTS ( \
               SELECT 1 FROM orders p \
               WHERE p.tenant_id = $1 AND p.cart_id = c.cart_id AND p.attribution = '{recovered}' \
                 AND p.created_at >= c.sent_at AND p.created_at < $6) "
        )
    } else {
        String::new()
    };
    let (select, group) = if per_step {
        (
            "c.step AS step, COUNT(*) AS sent, CAST(0 AS BIGINT) AS clicked",
            "GROUP BY c.step",
        )
    } else {
        (
            "c.step AS step, c.sent_at AS sent_at, c.recovered_at AS at",
            "",
        )
    };
    format!(
        "SELECT {select} FROM ( \
           SELECT s.step AS step, s.cart_id AS cart_id, s.sent_at AS sent_at, \
             MIN(o.created_at) AS recovered_at \
           FROM orders o JOIN recovery_sends s ON s.cart_id = o.cart_id \
           WHERE o.tenant_id = $1 AND o.attribution = '{recovered}' \
             AND o.created_at >= $4 AND o.created_at < $5 \
             AND s.tenant_id = $1 AND s.status = '{sent}' AND s.sent_at >= $2 AND s.sent_at < $3 \
             AND s.sent_at <= o.created_at \
           GROUP BY s.id, s.step, s.cart_id, s.sent_at \
         ) c \
         WHERE NOT EXISTS ( \
           SELECT 1 FROM recovery_sends n \
           WHERE n.tenant_id = $1 AND n.cart_id = c.cart_id AND n.status = '{sent}' \
             AND n.sent_at > c.sent_at AND n.sent_at <= c.recovered_at) \
         {earlier}{group}"
    )
}

/// Runs [`credits_sql`] with its binds.
fn load_credits<R>(
    conn: &mut DbConn,
    per_step: bool,
    tenant_id: &str,
    sends: Span,
    horizon: Horizon,
) -> StoreResult<Vec<R>>
where
    R: QueryableByName<<DbConn as Connection>::Backend> + 'static,
{
    if sends.is_empty() {
        return Ok(Vec::new());
    }
    let start = horizon.from.map_or(sends.from, |from| from.max(sends.from));
    let end = horizon.to.unwrap_or_else(no_end);
    let earlier = horizon.from.filter(|from| *from > sends.from);
    let sql = credits_sql(per_step, earlier.is_some());
    let query = diesel::sql_query(dialect(conn, &sql))
        .bind::<Text, _>(tenant_id)
        .bind::<Timestamp, _>(sends.from.naive_utc())
        .bind::<Timestamp, _>(sends.to.naive_utc())
        .bind::<Timestamp, _>(start.naive_utc())
        .bind::<Timestamp, _>(end.naive_utc());
    Ok(match earlier {
        Some(from) => query.bind::<Timestamp, _>(from.naive_utc()).load(conn)?,
        None => query.load(conn)?,
    })
}

/// The emails sent in `sends` credited with a recovery by an order of
/// `horizon`, one row each with the order's instant.
pub(crate) fn credits(
    conn: &mut DbConn,
    tenant_id: &str,
    sends: Span,
    horizon: Horizon,
) -> StoreResult<Vec<Decided>> {
    load_credits(conn, false, tenant_id, sends, horizon)
}

/// [`credits`] counted per step (in `sent`; `clicked` is 0).
pub(crate) fn credits_per_step(
    conn: &mut DbConn,
    tenant_id: &str,
    sends: Span,
    horizon: Horizon,
) -> StoreResult<Vec<StepCount>> {
    load_credits(conn, true, tenant_id, sends, horizon)
}

/// A stored step number as the funnel's index.
pub(crate) fn step_index(step: i32) -> StoreResult<u32> {
    u32::try_from(step).map_err(|_| StoreError::Corrupt(format!("send step {step}")))
}
