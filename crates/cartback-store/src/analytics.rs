//! A tenant's analytics, counted by the database.
//!
//! [`period_report`] is what the API and the dashboard show: the local days
//! that ended a while ago come from the tenant's summary ([`summary`]: counted
//! once, a few rows per day), the rest (today, mostly) from grouped queries
//! over the facts (module `counts`); the arithmetic is
//! [`cartback_domain::analyze_tallies`]'s. [`load_period`] reads the same facts
//! one row each, for [`cartback_domain::analyze`]: the definition the counted
//! report is tested against.

mod counts;
pub mod summary;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text, Timestamp};

use cartback_domain::{
    AbandonedFact, AbandonedTally, Analytics, AnalyticsInput, AnalyticsPeriod, AnalyticsTallies,
    Currency, FunnelStep, MAX_PERIOD_DAYS, Money, OrderAttribution, OrderFact, OrderTally,
    SendFact, Tz, analyze_tallies, local_date,
};

use self::counts::{Horizon, Pieces, SPLIT, Span};
use self::summary::Covered;
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

fn split_sum(millions: i64, rest: i64) -> i64 {
    millions.saturating_mul(SPLIT).saturating_add(rest)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A group's amount in `currency`: None when no fact of it had one (or its
/// currency was never known: an abandonment recorded before values were kept).
fn amount(
    currency: &str,
    valued: i64,
    millions: i64,
    rest: i64,
    what: &str,
) -> StoreResult<Option<Money>> {
    if valued == 0 || currency.is_empty() {
        return Ok(None);
    }
    money(split_sum(millions, rest), currency, what).map(Some)
}

/// Adds counted groups (of [`counts::abandoned`] or [`counts::orders`], or
/// summary rows of those kinds) to `tallies`, each at `at`.
fn add_group(
    tallies: &mut AnalyticsTallies,
    at: DateTime<Utc>,
    kind: &str,
    label: &str,
    sums: (i64, i64, i64, i64),
) -> StoreResult<()> {
    let (events, valued, millions, rest) = sums;
    if kind == CartEventKind::Abandoned.as_str() {
        tallies.abandoned.push(AbandonedTally {
            at,
            count: count(events),
            value: amount(label, valued, millions, rest, "abandoned cart")?,
        });
    } else {
        let attribution = OrderAttribution::parse(kind)
            .map_err(|e| StoreError::Corrupt(format!("order attribution: {e}")))?;
        tallies.orders.push(OrderTally {
            at,
            attribution,
            count: count(events),
            total: amount(label, valued, millions, rest, "order")?,
        });
    }
    Ok(())
}

fn funnel_step(step_index: u32, sent: i64, clicked: i64, recovered: i64) -> FunnelStep {
    FunnelStep {
        step_index,
        sent: count(sent),
        clicked: count(clicked),
        recovered: count(recovered),
    }
}

/// Every fact of `span` counted live into `tallies`: abandonments and orders
/// per piece of `pieces`, emails per step with their clicks and credits
/// (whenever those came).
fn count_live(
    conn: &mut DbConn,
    tenant_id: &str,
    span: Span,
    pieces: Pieces,
    tallies: &mut AnalyticsTallies,
) -> StoreResult<()> {
    if span.is_empty() {
        return Ok(());
    }
    let groups = counts::abandoned(conn, tenant_id, span, pieces)?
        .into_iter()
        .chain(counts::orders(conn, tenant_id, span, pieces)?);
    for group in groups {
        let sums = (
            group.events,
            group.valued,
            group.millions.unwrap_or(0),
            group.rest.unwrap_or(0),
        );
        add_group(
            tallies,
            group.piece.and_utc(),
            &group.kind,
            &group.label,
            sums,
        )?;
    }
    for step in counts::steps(conn, tenant_id, span)? {
        let index = counts::step_index(step.step)?;
        tallies
            .funnel
            .push(funnel_step(index, step.sent, step.clicked, 0));
    }
    let credited = counts::credits_per_step(conn, tenant_id, span, Horizon::since(span.from))?;
    for step in credited {
        let index = counts::step_index(step.step)?;
        tallies.funnel.push(funnel_step(index, 0, 0, step.sent));
    }
    Ok(())
}

/// The summary's days counted into `tallies`, with the clicks and credits of
/// their emails decided since the summary ends (counted live).
fn count_covered(
    conn: &mut DbConn,
    tenant_id: &str,
    covered: &Covered,
    tallies: &mut AnalyticsTallies,
) -> StoreResult<()> {
    for row in &covered.rows {
        let at = row.day_start.and_utc();
        let step = || {
            row.label
                .parse::<u32>()
                .map_err(|_| StoreError::Corrupt(format!("summary step {:?}", row.label)))
        };
        match row.kind.as_str() {
            summary::SENT => tallies.funnel.push(funnel_step(step()?, row.events, 0, 0)),
            summary::CLICKED => tallies.funnel.push(funnel_step(step()?, 0, row.events, 0)),
            summary::CREDITED => tallies.funnel.push(funnel_step(step()?, 0, 0, row.events)),
            kind => add_group(
                tallies,
                at,
                kind,
                &row.label,
                (row.events, row.valued, row.millions, row.rest),
            )?,
        }
    }
    let since = Horizon::since(covered.until);
    let mut clicked: BTreeMap<i32, i64> = BTreeMap::new();
    for email in counts::clicks(conn, tenant_id, covered.days, since)? {
        *clicked.entry(email.step).or_default() += 1;
    }
    for (step, n) in clicked {
        tallies
            .funnel
            .push(funnel_step(counts::step_index(step)?, 0, n, 0));
    }
    for step in counts::credits_per_step(conn, tenant_id, covered.days, since)? {
        let index = counts::step_index(step.step)?;
        tallies.funnel.push(funnel_step(index, 0, 0, step.sent));
    }
    Ok(())
}

/// Runs `body` in one read-only snapshot: a transaction, `REPEATABLE READ` on
/// PostgreSQL (whose default gives each statement its own snapshot) unless
/// the caller's transaction is already open.
fn in_snapshot<T>(
    conn: &mut DbConn,
    body: impl FnOnce(&mut DbConn) -> StoreResult<T>,
) -> StoreResult<T> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let outermost = match conn {
        DbConn::Postgres(pg) => <AnsiTransactionManager as TransactionManager<
            diesel::PgConnection,
        >>::transaction_manager_status_mut(pg)
        .transaction_depth()?
        .is_none(),
        DbConn::Sqlite(_) => false,
    };
    conn.transaction(|conn| {
        if outermost && let DbConn::Postgres(pg) = conn {
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(pg)?;
        }
        body(conn)
    })
}

/// The report of `period` for `tenant_id`: the very figures
/// [`cartback_domain::analyze`] gives over [`load_period`]'s rows, read in one
/// snapshot. The local days the tenant's summary holds ([`summary`]) come from
/// it, a few rows a day; the days before it and since it (today, mostly) are
/// counted live, grouped per piece of a local day and per currency or step,
/// each query on its own `(tenant_id, …, time)` index and reading nothing
/// outside its stretch. `steps` is the number of steps of the tenant's
/// policy, for the funnel.
pub fn period_report(
    conn: &mut DbConn,
    tenant_id: &str,
    period: &AnalyticsPeriod,
    steps: u32,
) -> StoreResult<Analytics> {
    let pieces = Pieces {
        origin: period.start(),
        seconds: period.piece_seconds(),
    };
    let tallies = in_snapshot(conn, |conn| -> StoreResult<AnalyticsTallies> {
        let mut tallies = AnalyticsTallies {
            steps,
            ..AnalyticsTallies::default()
        };
        let whole = Span::new(period.start(), period.end());
        match summary::covered(conn, tenant_id, period)? {
            None => count_live(conn, tenant_id, whole, pieces, &mut tallies)?,
            Some(covered) => {
                let before = Span::new(whole.from, covered.days.from);
                let after = Span::new(covered.days.to, whole.to);
                count_live(conn, tenant_id, before, pieces, &mut tallies)?;
                count_covered(conn, tenant_id, &covered, &mut tallies)?;
                count_live(conn, tenant_id, after, pieces, &mut tallies)?;
            }
        }
        Ok(tallies)
    })?;
    Ok(analyze_tallies(period, &tallies))
}

/// A tenant's report, as `GET /api/v1/analytics` and the dashboard's overview
/// show it at `now`: the tenant's current policy gives the time zone (`choose`
/// turns it into the period) and the funnel's steps. The tenant's summary is
/// first brought up to date and back to the period's first day (at most
/// [`cartback_domain::MAX_PERIOD_DAYS`] before today), which costs a count of
/// the missing days once; when that fails the report is counted live for
/// those days. None when there is no such tenant.
pub fn tenant_report<E: From<StoreError>>(
    conn: &mut DbConn,
    tenant_id: &str,
    now: DateTime<Utc>,
    choose: impl FnOnce(Tz) -> Result<AnalyticsPeriod, E>,
) -> Result<Option<(AnalyticsPeriod, Analytics)>, E> {
    let Some(tenant) = crate::tenants::find_tenant(conn, tenant_id)? else {
        return Ok(None);
    };
    let policy = tenant.recovery_policy()?;
    let zone = policy.zone();
    let period = choose(zone)?;
    let oldest = local_date(now, zone)
        .checked_sub_days(chrono::Days::new(u64::from(MAX_PERIOD_DAYS - 1)))
        .unwrap_or(period.first_day());
    let down_to = period.first_day().max(oldest);
    match summary::ensure(conn, tenant_id, zone, now, Some(down_to)) {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(tenant = %tenant_id, "analytics summary busy; this report counts more days live");
        }
        Err(error) => {
            tracing::warn!(tenant = %tenant_id, %error, "analytics summary not brought up to date; this report counts more days live");
        }
    }
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
