//! A tenant's analytics, counted by the database.
//!
//! [`period_report`] is what the API and the dashboard show: four grouped
//! queries, each on its own `(tenant_id, …, time)` index and reading nothing
//! outside the period, count the facts per piece of a local day
//! ([`AnalyticsPeriod::piece_seconds`]) and per currency; the arithmetic is
//! [`cartback_domain::analyze_tallies`]'s. [`load_period`] reads the same facts
//! one row each, for [`cartback_domain::analyze`]: the definition the counted
//! report is tested against.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::deserialize::QueryableByName;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};

use cartback_domain::{
    AbandonedFact, AbandonedTally, Analytics, AnalyticsInput, AnalyticsPeriod, AnalyticsTallies,
    Currency, FunnelStep, Money, OrderAttribution, OrderFact, OrderTally, SendFact, Tz,
    analyze_tallies,
};

use crate::columns::Stored;
use crate::connection::DbConn;
use crate::error::{StoreError, StoreResult};
use crate::events::CartEventKind;
use crate::schema::{cart_events, orders};
use crate::sends::SendStatus;
use crate::sql::dialect;

fn money(minor: i64, currency: &str, what: &str) -> StoreResult<Money> {
    let currency = Currency::parse(currency)
        .map_err(|e| StoreError::Corrupt(format!("{what} currency: {e}")))?;
    Ok(Money::from_minor(minor, currency))
}

/// The `abandoned` history events of `[from, to)`, each with the cart's total
/// when it went abandoned (recorded on the event).
pub fn load_abandoned(
    conn: &mut DbConn,
    tenant_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<AbandonedFact>> {
    let rows: Vec<(NaiveDateTime, String, Option<i64>, Option<String>)> = cart_events::table
        .filter(cart_events::tenant_id.eq(tenant_id))
        .filter(cart_events::kind.eq(CartEventKind::Abandoned.as_str()))
        .filter(cart_events::created_at.ge(from.naive_utc()))
        .filter(cart_events::created_at.lt(to.naive_utc()))
        .select((
            cart_events::created_at,
            cart_events::cart_id,
            cart_events::cart_total_minor,
            cart_events::cart_currency,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(at, cart_id, total, currency)| {
            let cart_value = match (total, currency) {
                (Some(total), Some(currency)) => {
                    Some(money(total, &currency, &format!("cart {cart_id}"))?)
                }
                _ => None,
            };
            Ok(AbandonedFact {
                at: at.and_utc(),
                cart_value,
            })
        })
        .collect()
}

/// An order as [`load_orders`] reads it: id, time, attribution, total, currency.
type OrderFactRow = (
    String,
    NaiveDateTime,
    Stored<OrderAttribution>,
    Option<i64>,
    String,
);

/// The recovered and converted orders of `[from, to)` (unmatched orders and
/// orders for carts already closed count in neither, so they are not read).
pub fn load_orders(
    conn: &mut DbConn,
    tenant_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<OrderFact>> {
    let rows: Vec<OrderFactRow> = orders::table
        .filter(orders::tenant_id.eq(tenant_id))
        .filter(orders::created_at.ge(from.naive_utc()))
        .filter(orders::created_at.lt(to.naive_utc()))
        .filter(orders::attribution.eq_any([
            Stored(OrderAttribution::Recovered),
            Stored(OrderAttribution::Converted),
        ]))
        .select((
            orders::id,
            orders::created_at,
            orders::attribution,
            orders::total_minor,
            orders::currency,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, at, Stored(attribution), total, currency)| {
            let what = format!("order {id}");
            let total = match total {
                Some(minor) => Some(money(minor, &currency, &what)?),
                None => None,
            };
            Ok(OrderFact {
                at: at.and_utc(),
                attribution,
                total,
            })
        })
        .collect()
}

#[derive(QueryableByName)]
struct SendFactRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Integer)]
    step: i32,
    #[diesel(sql_type = Timestamp)]
    sent_at: NaiveDateTime,
    #[diesel(sql_type = Integer)]
    click_count: i32,
    #[diesel(sql_type = Nullable<Timestamp>)]
    recovered_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    next_sent_at: Option<NaiveDateTime>,
}

/// The emails sent in `[from, to)`, each with the first order that recovered its
/// cart afterwards and the cart's next email (from the cart's own rows, through
/// the `(tenant_id, cart_id)` order index and the `(cart_id, cycle, step)` key).
pub fn load_sends(
    conn: &mut DbConn,
    tenant_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<SendFact>> {
    let sql = dialect(
        conn,
        "SELECT s.id, s.step, s.sent_at, s.click_count, \
           (SELECT MIN(o.created_at) FROM orders o \
             WHERE o.tenant_id = s.tenant_id AND o.cart_id = s.cart_id \
               AND o.attribution = $4 AND o.created_at >= s.sent_at) AS recovered_at, \
           (SELECT MIN(n.sent_at) FROM recovery_sends n \
             WHERE n.tenant_id = s.tenant_id AND n.cart_id = s.cart_id \
               AND n.status = $5 AND n.sent_at > s.sent_at) AS next_sent_at \
         FROM recovery_sends s \
         WHERE s.tenant_id = $1 AND s.sent_at >= $2 AND s.sent_at < $3 AND s.status = $5",
    );
    let rows: Vec<SendFactRow> = diesel::sql_query(sql)
        .bind::<Text, _>(tenant_id)
        .bind::<Timestamp, _>(from.naive_utc())
        .bind::<Timestamp, _>(to.naive_utc())
        .bind::<Text, _>(OrderAttribution::Recovered.as_str())
        .bind::<Text, _>(SendStatus::Sent.as_str())
        .load(conn)?;
    rows.into_iter()
        .map(|row| {
            let step = u32::try_from(row.step)
                .map_err(|_| StoreError::Corrupt(format!("send {} step {}", row.id, row.step)))?;
            Ok(SendFact {
                step,
                sent_at: row.sent_at.and_utc(),
                clicked: row.click_count > 0,
                recovered_at: row.recovered_at.map(|at| at.and_utc()),
                next_sent_at: row.next_sent_at.map(|at| at.and_utc()),
            })
        })
        .collect()
}

/// Every fact of `period` for `tenant_id`, read in one transaction (one
/// consistent snapshot on PostgreSQL). `steps` is the number of steps of the
/// tenant's policy, for the funnel.
pub fn load_period(
    conn: &mut DbConn,
    tenant_id: &str,
    period: &AnalyticsPeriod,
    steps: u32,
) -> StoreResult<AnalyticsInput> {
    let (from, to) = (period.start(), period.end());
    conn.transaction(|conn| {
        Ok(AnalyticsInput {
            abandoned: load_abandoned(conn, tenant_id, from, to)?,
            orders: load_orders(conn, tenant_id, from, to)?,
            sends: load_sends(conn, tenant_id, from, to)?,
            steps,
        })
    })
}

/// Amounts are summed in two parts, millions and the rest, so that no SQL sum
/// can overflow (SQLite stops with an error, PostgreSQL widens to numeric);
/// Rust adds them up saturating, as [`cartback_domain::analyze`] does.
const SPLIT: i64 = 1_000_000;

fn split_sum(millions: Option<i64>, rest: Option<i64>) -> i64 {
    millions
        .unwrap_or(0)
        .saturating_mul(SPLIT)
        .saturating_add(rest.unwrap_or(0))
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The piece of time a row falls in, as a timestamp (the piece's start), in
/// each dialect. Binds: `$2` the period's start, `$4` the piece in seconds.
fn piece_of(conn: &DbConn, column: &str) -> String {
    match conn {
        DbConn::Postgres(_) => format!("date_bin(make_interval(secs => $4), {column}, $2)"),
        DbConn::Sqlite(_) => format!(
            "datetime(unixepoch($2) + ((unixepoch({column}) - unixepoch($2)) / $4) * $4, 'unixepoch')"
        ),
    }
}

/// The known amounts of a group of `column`: how many, and their sum in two
/// parts (see [`SPLIT`]).
fn amount_sums(column: &str) -> String {
    format!(
        "COUNT({column}) AS valued, \
         CAST(SUM({column} / {SPLIT}) AS BIGINT) AS millions, \
         CAST(SUM({column} % {SPLIT}) AS BIGINT) AS rest"
    )
}

/// The columns [`amount_sums`] reads.
#[derive(QueryableByName)]
struct GroupSums {
    #[diesel(sql_type = BigInt)]
    valued: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    millions: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    rest: Option<i64>,
}

impl GroupSums {
    /// The group's amount; None when no row of it had one.
    fn amount(&self, currency: &str, what: &str) -> StoreResult<Option<Money>> {
        if self.valued == 0 {
            return Ok(None);
        }
        money(split_sum(self.millions, self.rest), currency, what).map(Some)
    }
}

/// The rows of `sql` with its binds: `$1` the tenant, `$2` and `$3` the
/// period's start and end, `$4` the piece in seconds.
fn load_pieces<R>(
    conn: &mut DbConn,
    sql: &str,
    tenant_id: &str,
    period: &AnalyticsPeriod,
    piece: i64,
) -> StoreResult<Vec<R>>
where
    R: QueryableByName<<DbConn as Connection>::Backend> + 'static,
{
    Ok(diesel::sql_query(dialect(conn, sql))
        .bind::<Text, _>(tenant_id)
        .bind::<Timestamp, _>(period.start().naive_utc())
        .bind::<Timestamp, _>(period.end().naive_utc())
        .bind::<BigInt, _>(piece)
        .load(conn)?)
}

#[derive(QueryableByName)]
struct AbandonedRow {
    #[diesel(sql_type = Timestamp)]
    piece: NaiveDateTime,
    #[diesel(sql_type = Nullable<Text>)]
    currency: Option<String>,
    #[diesel(sql_type = BigInt)]
    events: i64,
    #[diesel(embed)]
    sums: GroupSums,
}

fn count_abandoned(
    conn: &mut DbConn,
    tenant_id: &str,
    period: &AnalyticsPeriod,
    piece: i64,
) -> StoreResult<Vec<AbandonedTally>> {
    let sql = format!(
        "SELECT {piece} AS piece, cart_currency AS currency, COUNT(*) AS events, {sums} \
         FROM cart_events \
         WHERE tenant_id = $1 AND kind = '{kind}' AND created_at >= $2 AND created_at < $3 \
         GROUP BY 1, 2",
        piece = piece_of(conn, "created_at"),
        sums = amount_sums("cart_total_minor"),
        kind = CartEventKind::Abandoned.as_str(),
    );
    let rows: Vec<AbandonedRow> = load_pieces(conn, &sql, tenant_id, period, piece)?;
    rows.into_iter()
        .map(|row| {
            let value = match row.currency {
                Some(ref currency) => row.sums.amount(currency, "abandoned cart")?,
                None => None,
            };
            Ok(AbandonedTally {
                at: row.piece.and_utc(),
                count: count(row.events),
                value,
            })
        })
        .collect()
}

#[derive(QueryableByName)]
struct OrderRow {
    #[diesel(sql_type = Timestamp)]
    piece: NaiveDateTime,
    #[diesel(sql_type = Text)]
    attribution: String,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = BigInt)]
    orders: i64,
    #[diesel(embed)]
    sums: GroupSums,
}

fn count_orders(
    conn: &mut DbConn,
    tenant_id: &str,
    period: &AnalyticsPeriod,
    piece: i64,
) -> StoreResult<Vec<OrderTally>> {
    let sql = format!(
        "SELECT {piece} AS piece, attribution, currency, COUNT(*) AS orders, {sums} \
         FROM orders \
         WHERE tenant_id = $1 AND attribution IN ('{recovered}', '{converted}') \
           AND created_at >= $2 AND created_at < $3 \
         GROUP BY 1, 2, 3",
        piece = piece_of(conn, "created_at"),
        sums = amount_sums("total_minor"),
        recovered = OrderAttribution::Recovered.as_str(),
        converted = OrderAttribution::Converted.as_str(),
    );
    let rows: Vec<OrderRow> = load_pieces(conn, &sql, tenant_id, period, piece)?;
    rows.into_iter()
        .map(|row| {
            let attribution = OrderAttribution::parse(&row.attribution)
                .map_err(|e| StoreError::Corrupt(format!("order attribution: {e}")))?;
            let total = row.sums.amount(&row.currency, "order")?;
            Ok(OrderTally {
                at: row.piece.and_utc(),
                attribution,
                count: count(row.orders),
                total,
            })
        })
        .collect()
}

#[derive(QueryableByName)]
struct StepRow {
    #[diesel(sql_type = Integer)]
    step: i32,
    #[diesel(sql_type = BigInt)]
    sent: i64,
    #[diesel(sql_type = BigInt)]
    clicked: i64,
    #[diesel(sql_type = BigInt)]
    recovered: i64,
}

/// The funnel of the emails sent in the period. An email is credited with a
/// recovery when an order recovered its cart at or after it and the cart got
/// no other email in between ([`SendFact::credited_with_recovery`]): only
/// emails of carts with a recovered order since the period's start are looked
/// at for that, driven from those orders.
fn count_funnel(
    conn: &mut DbConn,
    tenant_id: &str,
    period: &AnalyticsPeriod,
) -> StoreResult<Vec<FunnelStep>> {
    let sent = SendStatus::Sent.as_str();
    let recovered = OrderAttribution::Recovered.as_str();
    let sql = format!(
        "SELECT step, COUNT(*) AS sent, COUNT(CASE WHEN click_count > 0 THEN 1 END) AS clicked, \
           CAST(0 AS BIGINT) AS recovered \
         FROM recovery_sends \
         WHERE tenant_id = $1 AND status = '{sent}' AND sent_at >= $2 AND sent_at < $3 \
         GROUP BY step \
         UNION ALL \
         SELECT step, CAST(0 AS BIGINT), CAST(0 AS BIGINT), COUNT(*) FROM ( \
           SELECT s.id, s.step, s.cart_id, s.sent_at, MIN(o.created_at) AS recovered_at \
           FROM orders o JOIN recovery_sends s ON s.cart_id = o.cart_id \
           WHERE o.tenant_id = $1 AND o.attribution = '{recovered}' AND o.created_at >= $2 \
             AND s.tenant_id = $1 AND s.status = '{sent}' AND s.sent_at >= $2 AND s.sent_at < $3 \
             AND s.sent_at <= o.created_at \
           GROUP BY s.id, s.step, s.cart_id, s.sent_at \
         ) c \
         WHERE NOT EXISTS ( \
           SELECT 1 FROM recovery_sends n \
           WHERE n.tenant_id = $1 AND n.cart_id = c.cart_id AND n.status = '{sent}' \
             AND n.sent_at > c.sent_at AND n.sent_at <= c.recovered_at) \
         GROUP BY step",
    );
    let rows: Vec<StepRow> = diesel::sql_query(dialect(conn, &sql))
        .bind::<Text, _>(tenant_id)
        .bind::<Timestamp, _>(period.start().naive_utc())
        .bind::<Timestamp, _>(period.end().naive_utc())
        .load(conn)?;
    rows.into_iter()
        .map(|row| {
            let step_index = u32::try_from(row.step)
                .map_err(|_| StoreError::Corrupt(format!("send step {}", row.step)))?;
            Ok(FunnelStep {
                step_index,
                sent: count(row.sent),
                clicked: count(row.clicked),
                recovered: count(row.recovered),
            })
        })
        .collect()
}

/// The report of `period` for `tenant_id`, counted by the database in one
/// transaction (one consistent snapshot on PostgreSQL): the very figures
/// [`cartback_domain::analyze`] gives over [`load_period`]'s rows, at a cost
/// that grows with the number of pieces and steps rather than of facts
/// (each query still walks its index over the period). `steps` is the
/// number of steps of the tenant's policy, for the funnel.
pub fn period_report(
    conn: &mut DbConn,
    tenant_id: &str,
    period: &AnalyticsPeriod,
    steps: u32,
) -> StoreResult<Analytics> {
    let piece = period.piece_seconds();
    let tallies = conn.transaction(|conn| -> StoreResult<AnalyticsTallies> {
        Ok(AnalyticsTallies {
            abandoned: count_abandoned(conn, tenant_id, period, piece)?,
            orders: count_orders(conn, tenant_id, period, piece)?,
            funnel: count_funnel(conn, tenant_id, period)?,
            steps,
        })
    })?;
    Ok(analyze_tallies(period, &tallies))
}

/// A tenant's report, as `GET /api/v1/analytics` and the dashboard's overview
/// show it: the tenant's current policy gives the time zone (`choose` turns it
/// into the period) and the funnel's steps. None when there is no such tenant.
pub fn tenant_report<E: From<StoreError>>(
    conn: &mut DbConn,
    tenant_id: &str,
    choose: impl FnOnce(Tz) -> Result<AnalyticsPeriod, E>,
) -> Result<Option<(AnalyticsPeriod, Analytics)>, E> {
    let Some(tenant) = crate::tenants::find_tenant(conn, tenant_id)? else {
        return Ok(None);
    };
    let policy = tenant.recovery_policy()?;
    let period = choose(policy.zone())?;
    let steps = u32::try_from(policy.steps.len()).unwrap_or(u32::MAX);
    let report = period_report(conn, tenant_id, &period, steps)?;
    Ok(Some((period, report)))
}

/// Abandoned and recovered carts of `[from, to)`: the `abandoned` history events
/// and the orders attributed as recovered in the interval.
pub fn count_abandoned_recovered(
    conn: &mut DbConn,
    tenant_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<(i64, i64)> {
    let abandoned: i64 = cart_events::table
        .filter(cart_events::tenant_id.eq(tenant_id))
        .filter(cart_events::kind.eq(CartEventKind::Abandoned.as_str()))
        .filter(cart_events::created_at.ge(from.naive_utc()))
        .filter(cart_events::created_at.lt(to.naive_utc()))
        .count()
        .get_result(conn)?;
    let recovered: i64 = orders::table
        .filter(orders::tenant_id.eq(tenant_id))
        .filter(orders::attribution.eq(OrderAttribution::Recovered.as_str()))
        .filter(orders::created_at.ge(from.naive_utc()))
        .filter(orders::created_at.lt(to.naive_utc()))
        .count()
        .get_result(conn)?;
    Ok((abandoned, recovered))
}
