//! The facts analytics are computed from, loaded for one tenant and one period.
//! Each kind of fact is one query on its `(tenant_id, …, time)` index, so a
//! report reads the period's rows and nothing older or newer; the arithmetic is
//! [`cartback_domain::analyze`]'s.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text, Timestamp};

use cartback_domain::{
    AbandonedFact, Analytics, AnalyticsInput, AnalyticsPeriod, Currency, Money, OrderAttribution,
    OrderFact, SendFact, Tz, analyze,
};

use crate::columns::Stored;
use crate::connection::DbConn;
use crate::error::{StoreError, StoreResult};
use crate::events::CartEventKind;
use crate::schema::{cart_events, carts, orders};
use crate::sends::SendStatus;
use crate::sql::dialect;

fn money(minor: i64, currency: &str, what: &str) -> StoreResult<Money> {
    let currency = Currency::parse(currency)
        .map_err(|e| StoreError::Corrupt(format!("{what} currency: {e}")))?;
    Ok(Money::from_minor(minor, currency))
}

/// The `abandoned` history events of `[from, to)`, each with its cart's total.
pub fn load_abandoned(
    conn: &mut DbConn,
    tenant_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<AbandonedFact>> {
    let rows: Vec<(NaiveDateTime, String, i64, String)> = cart_events::table
        .inner_join(carts::table)
        .filter(cart_events::tenant_id.eq(tenant_id))
        .filter(cart_events::kind.eq(CartEventKind::Abandoned.as_str()))
        .filter(cart_events::created_at.ge(from.naive_utc()))
        .filter(cart_events::created_at.lt(to.naive_utc()))
        .filter(carts::tenant_id.eq(tenant_id))
        .select((
            cart_events::created_at,
            carts::id,
            carts::total_minor,
            carts::currency,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(at, cart_id, total, currency)| {
            Ok(AbandonedFact {
                at: at.and_utc(),
                cart_value: Some(money(total, &currency, &format!("cart {cart_id}"))?),
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
    let input = load_period(conn, tenant_id, &period, steps)?;
    let report = analyze(&period, &input);
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
