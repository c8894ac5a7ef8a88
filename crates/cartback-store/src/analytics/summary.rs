//! Sealed days: a tenant's analytics counted once per local day, so that a
//! report over 30 or 90 days reads a few hundred rows and today's facts rather
//! than every fact of the period.
//!
//! # What is kept
//!
//! `analytics_days` holds, for the local days `[from, until)` of one time zone
//! (the tenant's, named with the time-zone database's version in
//! `analytics_marks`), the very groups the live queries count: abandonments
//! and orders per currency, emails sent per step, and the emails of each day
//! that were clicked or credited with a recovery per step. Facts are stamped
//! when they are written (`created_at`, `sent_at`, `first_clicked_at` are the
//! writer's now), so a day that ended [`SEAL_MARGIN`] ago no longer changes:
//! `until` is the start of the local day that `now - SEAL_MARGIN` falls on.
//!
//! Clicks and credits are the exception: an email is clicked, or recovers its
//! cart, days after it went out. They are counted by the instant of the event
//! that decided them (the first click, the recovering order) and each row
//! keeps that event's local day (`sealed_start`): the summary holds the clicks
//! and credits decided before `until`, and a report adds those decided since
//! (`counts::clicks` and `counts::credits` since `until`, a day's worth at
//! most). An email credited before `until` stays credited: a later email or
//! order of its cart comes after the recovery, and
//! [`cartback_domain::SendFact::credited_with_recovery`] only looks up to it.
//!
//! # How it stays exact
//!
//! Every fact, and every click or credit, has the instant it happened; each
//! row only depends on facts of its day and events up to its sealing day. So
//! a write (or deletion) at instant `t` can only change rows sealed on `t`'s
//! local day or later, and rows of days before `from` are not kept at all:
//!
//! - every writer of a fact (`note_writes`: abandonments, recovered and
//!   converted orders, emails sent, clicks) checks, in its own transaction,
//!   whether `t` is before `until`; if so (a late write, which the margin makes
//!   rare) the rows sealed on or after `t`'s day are deleted and `until` moves
//!   back to that day's start;
//! - the retention purge deletes whole finished carts and old history
//!   (`forget_before`): every row it changes belongs to a day up to the last
//!   deleted fact's, so `from` moves past that day;
//! - erasing a cart or a customer changes no fact (statuses, totals, dates
//!   and links between carts, orders and emails stay), and a backup is a copy
//!   of the whole database with its summary;
//! - the summary is kept in the tenant's current time zone only: another zone,
//!   or another time-zone database, starts it over.
//!
//! Rolling forward (or back to older days) reads the facts and writes the rows
//! and the mark in one transaction, under a lock that waits for no writer: on
//! PostgreSQL an exclusive advisory lock on the tenant, taken only while no
//! writer holds its shared form (`note_writes` takes that before it reads
//! the mark, and holds it until its transaction ends); on SQLite
//! `BEGIN IMMEDIATE`, which serialises all writers anyway. So a fact either
//! committed before the roll read it, or its writer sees the new mark and sets
//! it back. Two rollers (two api replicas, a worker) wait for each other and
//! the second finds the work done.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text, Timestamp};

use cartback_domain::{
    AnalyticsPeriod, MAX_PERIOD_DAYS, TZDB_VERSION, Tz, local_date, start_of_local_day,
};

use super::counts::{self, Decided, Group, Horizon, Pieces, Span};
use crate::connection::{DbConn, write_transaction};
use crate::error::{StoreError, StoreResult};
use crate::schema::{analytics_days, analytics_marks};
use crate::sql::dialect;

/// How long after a local day ends it is summarised. Facts are stamped with
/// their writer's clock when written, but a writer may take its `now` a
/// little before it commits (the worker stamps a batch's emails when it
/// settles the batch, within its lease of two minutes), and api and worker
/// machines' clocks may drift apart by some seconds. A quarter of an hour
/// covers both with room; a write that still comes later is caught by
/// `note_writes` and only costs a recount of the days since.
pub const SEAL_MARGIN: TimeDelta = TimeDelta::minutes(15);

/// Days counted per transaction when the summary is rolled forward or back:
/// each transaction stays short (it holds the tenant's lock, and SQLite's
/// write lock).
const CHUNK_DAYS: u64 = 31;

/// How often a roller tries the tenant's lock before giving up for now (the
/// report is exact without the roll; the worker tries again later), and the
/// pause between tries.
const LOCK_TRIES: u32 = 25;
const LOCK_PAUSE: Duration = Duration::from_millis(20);

/// The kinds of rows besides `abandoned` and the orders' attributions.
pub(crate) const SENT: &str = "sent";
pub(crate) const CLICKED: &str = "clicked";
pub(crate) const CREDITED: &str = "credited";

/// What `analytics_days` holds for a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// The IANA name of the zone the days are cut in.
    pub zone: String,
    /// The time-zone database's version the days were cut with.
    pub tzdb: String,
    /// The first instant of the first day held.
    pub from: DateTime<Utc>,
    /// The first instant of the first day not held (so `from == until` holds
    /// nothing).
    pub until: DateTime<Utc>,
}

impl Mark {
    /// Whether its days are the days of `zone` as this build cuts them.
    pub fn fits(&self, zone: Tz) -> bool {
        self.zone == zone.name() && self.tzdb == TZDB_VERSION
    }
}

/// A tenant's mark, if it has a summary.
pub fn read_mark(conn: &mut DbConn, tenant_id: &str) -> StoreResult<Option<Mark>> {
    let row: Option<(String, String, NaiveDateTime, NaiveDateTime)> = analytics_marks::table
        .filter(analytics_marks::tenant_id.eq(tenant_id))
        .select((
            analytics_marks::zone,
            analytics_marks::tzdb,
            analytics_marks::from_start,
            analytics_marks::until_start,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(zone, tzdb, from, until)| Mark {
        zone,
        tzdb,
        from: from.and_utc(),
        until: until.and_utc(),
    }))
}

/// The first instant of the local day `at` falls on.
fn day_start(at: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
    start_of_local_day(local_date(at, zone), zone)
}

/// Where a summary made at `now` ends: the start of the local day
/// `now - SEAL_MARGIN` falls on.
pub fn sealed_until(now: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
    day_start(now - SEAL_MARGIN, zone)
}

fn lock_key(tenant_id: &str) -> String {
    format!("analytics:{tenant_id}")
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// The roller's lock on a tenant's summary, inside a write transaction: on
/// PostgreSQL the exclusive form of the tenant's advisory lock if no writer
/// holds its shared form now (false otherwise: the caller lets go and tries
/// again); on SQLite the transaction's `BEGIN IMMEDIATE` is the lock.
fn try_lock(conn: &mut DbConn, tenant_id: &str) -> StoreResult<bool> {
    match conn {
        DbConn::Postgres(pg) => {
            let row: Locked = diesel::sql_query(
                "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS locked",
            )
            .bind::<Text, _>(lock_key(tenant_id))
            .get_result(pg)?;
            Ok(row.locked)
        }
        DbConn::Sqlite(_) => Ok(true),
    }
}

/// The writers' side of the lock: on PostgreSQL the shared form of each
/// tenant's advisory lock, held until the transaction ends (writers never wait
/// for each other, only for a roller at work). Nothing on SQLite.
fn share_locks(conn: &mut DbConn, tenant_ids: &[&str]) -> StoreResult<()> {
    if let DbConn::Postgres(pg) = conn {
        let keys: Vec<String> = tenant_ids.iter().map(|t| lock_key(t)).collect();
        diesel::sql_query(
            "SELECT pg_advisory_xact_lock_shared(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k",
        )
        .bind::<diesel::sql_types::Array<Text>, _>(&keys)
        .execute(pg)?;
    }
    Ok(())
}

/// Facts of `tenant_ids` were written (or changed) at `at`: call it in the
/// writer's own transaction (a read-committed one, so it reads the mark as it
/// is once the lock is held), for every write of an `abandoned` event, a
/// recovered or converted order, an email turning `sent`, and a click. When
/// `at` falls inside a tenant's summary, the rows `at` can have changed go
/// and the summary ends at the start of `at`'s day.
pub(crate) fn note_writes(
    conn: &mut DbConn,
    tenant_ids: &[&str],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    if tenant_ids.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<&str> = tenant_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(500) {
        share_locks(conn, chunk)?;
        let late: Vec<(String, String, String, NaiveDateTime)> = analytics_marks::table
            .filter(analytics_marks::tenant_id.eq_any(chunk))
            .filter(analytics_marks::from_start.le(at.naive_utc()))
            .filter(analytics_marks::until_start.gt(at.naive_utc()))
            .select((
                analytics_marks::tenant_id,
                analytics_marks::zone,
                analytics_marks::tzdb,
                analytics_marks::from_start,
            ))
            .load(conn)?;
        for (tenant_id, zone, tzdb, from) in late {
            set_back(conn, &tenant_id, &zone, &tzdb, from.and_utc(), at)?;
        }
    }
    Ok(())
}

/// Ends a tenant's summary (which starts at `from`) at the start of `at`'s
/// local day, dropping every row sealed since. A summary in a zone or
/// time-zone database this build cannot place `at` in is dropped whole.
fn set_back(
    conn: &mut DbConn,
    tenant_id: &str,
    zone: &str,
    tzdb: &str,
    from: DateTime<Utc>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let zone = match zone.parse::<Tz>() {
        Ok(zone) if tzdb == TZDB_VERSION => zone,
        _ => return drop_summary(conn, tenant_id),
    };
    // Never before `from`: an empty summary, not a backwards one.
    let day = day_start(at, zone).max(from);
    tracing::info!(
        tenant = %tenant_id,
        %at,
        "a fact was written into sealed analytics days; they are counted again from its day"
    );
    diesel::delete(
        analytics_days::table
            .filter(analytics_days::tenant_id.eq(tenant_id))
            .filter(analytics_days::sealed_start.ge(day.naive_utc())),
    )
    .execute(conn)?;
    diesel::update(
        analytics_marks::table
            .filter(analytics_marks::tenant_id.eq(tenant_id))
            .filter(analytics_marks::until_start.gt(day.naive_utc())),
    )
    .set(analytics_marks::until_start.eq(day.naive_utc()))
    .execute(conn)?;
    Ok(())
}

/// Deletes a tenant's summary, rows and mark.
fn drop_summary(conn: &mut DbConn, tenant_id: &str) -> StoreResult<()> {
    diesel::delete(analytics_days::table.filter(analytics_days::tenant_id.eq(tenant_id)))
        .execute(conn)?;
    diesel::delete(analytics_marks::table.filter(analytics_marks::tenant_id.eq(tenant_id)))
        .execute(conn)?;
    Ok(())
}

/// The retention purge deleted facts of `tenant_id` up to `last` (the latest
/// `abandoned` event's or sent email's instant among them), in the caller's
/// transaction: whole finished carts with all their emails (so no other
/// email's credit changes) and old history. Every row this can change belongs
/// to a day up to `last`'s, so the summary starts after that day.
pub(crate) fn forget_before(
    conn: &mut DbConn,
    tenant_id: &str,
    last: DateTime<Utc>,
) -> StoreResult<()> {
    share_locks(conn, &[tenant_id])?;
    let Some(mark) = read_mark(conn, tenant_id)? else {
        return Ok(());
    };
    if last < mark.from {
        return Ok(());
    }
    let zone = match mark.zone.parse::<Tz>() {
        Ok(zone) if mark.tzdb == TZDB_VERSION => zone,
        _ => return drop_summary(conn, tenant_id),
    };
    let next_day = local_date(last, zone)
        .succ_opt()
        .map(|day| start_of_local_day(day, zone));
    let from = match next_day {
        Some(next) if next < mark.until => next,
        // Nothing of the summary is left: it holds no day, from `until` on.
        _ => mark.until,
    };
    diesel::delete(
        analytics_days::table
            .filter(analytics_days::tenant_id.eq(tenant_id))
            .filter(analytics_days::day_start.lt(from.naive_utc())),
    )
    .execute(conn)?;
    diesel::update(analytics_marks::table.filter(analytics_marks::tenant_id.eq(tenant_id)))
        .set(analytics_marks::from_start.eq(from.naive_utc()))
        .execute(conn)?;
    Ok(())
}

/// Counts of one summary row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sums {
    events: i64,
    valued: i64,
    millions: i64,
    rest: i64,
}

/// Rows being made: `(day_start, kind, label, sealed_start)` → counts.
#[derive(Debug, Default)]
struct Rows(BTreeMap<(NaiveDateTime, String, String, NaiveDateTime), Sums>);

impl Rows {
    fn add(
        &mut self,
        day: DateTime<Utc>,
        kind: &str,
        label: &str,
        sealed: DateTime<Utc>,
        sums: Sums,
    ) {
        let entry = self
            .0
            .entry((
                day.naive_utc(),
                kind.to_owned(),
                label.to_owned(),
                sealed.naive_utc(),
            ))
            .or_default();
        entry.events = entry.events.saturating_add(sums.events);
        entry.valued = entry.valued.saturating_add(sums.valued);
        entry.millions = entry.millions.saturating_add(sums.millions);
        entry.rest = entry.rest.saturating_add(sums.rest);
    }

    /// The groups of [`counts::abandoned`], [`counts::orders`] or
    /// [`counts::sent`] over `period`, each filed under its day.
    fn add_groups(&mut self, period: &AnalyticsPeriod, groups: Vec<Group>) -> StoreResult<()> {
        for group in groups {
            let at = group.piece.and_utc();
            let day = period
                .day_index(at)
                .and_then(|index| period.days().nth(index))
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("a counted piece {at} outside its days"))
                })?;
            let start = start_of_local_day(day, period.zone());
            let sums = Sums {
                events: group.events,
                valued: group.valued,
                millions: group.millions.unwrap_or(0),
                rest: group.rest.unwrap_or(0),
            };
            self.add(start, &group.kind, &group.label, start, sums);
        }
        Ok(())
    }

    /// Emails with the event that decided them, each filed under its
    /// sending's day and sealed on the event's.
    fn add_decided(&mut self, zone: Tz, kind: &str, decided: Vec<Decided>) {
        for email in decided {
            let day = day_start(email.sent_at.and_utc(), zone);
            let sealed = day_start(email.at.and_utc(), zone);
            let sums = Sums {
                events: 1,
                ..Sums::default()
            };
            self.add(day, kind, &email.step.to_string(), sealed, sums);
        }
    }

    fn insert(self, conn: &mut DbConn, tenant_id: &str) -> StoreResult<()> {
        let rows: Vec<_> = self
            .0
            .into_iter()
            .map(|((day, kind, label, sealed), sums)| {
                (
                    analytics_days::tenant_id.eq(tenant_id.to_owned()),
                    analytics_days::day_start.eq(day),
                    analytics_days::kind.eq(kind),
                    analytics_days::label.eq(label),
                    analytics_days::sealed_start.eq(sealed),
                    analytics_days::events.eq(sums.events),
                    analytics_days::valued.eq(sums.valued),
                    analytics_days::millions.eq(sums.millions),
                    analytics_days::rest.eq(sums.rest),
                )
            })
            .collect();
        for chunk in rows.chunks(500) {
            match conn {
                DbConn::Postgres(pg) => {
                    diesel::insert_into(analytics_days::table)
                        .values(chunk)
                        .execute(pg)?;
                }
                DbConn::Sqlite(sqlite) => {
                    diesel::insert_into(analytics_days::table)
                        .values(chunk)
                        .execute(sqlite)?;
                }
            }
        }
        Ok(())
    }
}

/// The abandonments, orders and sent emails of the local days `[first, end)`.
fn count_days(
    conn: &mut DbConn,
    tenant_id: &str,
    zone: Tz,
    first: NaiveDate,
    end: NaiveDate,
    rows: &mut Rows,
) -> StoreResult<()> {
    let Some(last) = end.pred_opt().filter(|last| *last >= first) else {
        return Ok(());
    };
    let period = AnalyticsPeriod::local_days(first, last, zone)
        .map_err(|e| StoreError::Corrupt(format!("summarising {first}..={last}: {e}")))?;
    let pieces = Pieces {
        origin: period.start(),
        seconds: period.piece_seconds(),
    };
    let span = Span::new(period.start(), period.end());
    rows.add_groups(&period, counts::abandoned(conn, tenant_id, span, pieces)?)?;
    rows.add_groups(&period, counts::orders(conn, tenant_id, span, pieces)?)?;
    rows.add_groups(&period, counts::sent(conn, tenant_id, span, pieces)?)?;
    Ok(())
}

/// `day` moved by `days` local days (saturating at chrono's calendar ends).
fn shift_days(day: NaiveDate, days: u64, forward: bool) -> NaiveDate {
    let moved = if forward {
        day.checked_add_days(Days::new(days))
    } else {
        day.checked_sub_days(Days::new(days))
    };
    moved.unwrap_or(day)
}

/// What one roll transaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rolled {
    /// Some days were counted (or the summary started over): there may be more.
    Progress,
    /// The summary reaches what was asked.
    Done,
    /// A writer holds the tenant's lock: try again in a moment.
    Busy,
}

/// Files the clicks and credits of the emails sent in `sends` that were
/// decided within `horizon` under the days that decided them, then writes
/// every row counted for this step.
fn add_decided_and_insert(
    conn: &mut DbConn,
    tenant_id: &str,
    zone: Tz,
    sends: Span,
    horizon: Horizon,
    mut rows: Rows,
) -> StoreResult<()> {
    rows.add_decided(
        zone,
        CLICKED,
        counts::clicks(conn, tenant_id, sends, horizon)?,
    );
    rows.add_decided(
        zone,
        CREDITED,
        counts::credits(conn, tenant_id, sends, horizon)?,
    );
    rows.insert(conn, tenant_id)
}

/// One transaction's worth of rolling, with the tenant's lock held: starts
/// the summary over when it is missing or in another zone, else counts up to
/// [`CHUNK_DAYS`] days forward towards `until`, else as many back towards
/// `floor`.
fn roll_once(
    conn: &mut DbConn,
    tenant_id: &str,
    zone: Tz,
    until: DateTime<Utc>,
    floor: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StoreResult<Rolled> {
    if !try_lock(conn, tenant_id)? {
        return Ok(Rolled::Busy);
    }
    let mark = match read_mark(conn, tenant_id)? {
        Some(mark) if mark.fits(zone) => mark,
        _ => {
            // No summary yet, or one of another zone: an empty one ending at
            // `until`, to be filled backwards.
            drop_summary(conn, tenant_id)?;
            diesel::insert_into(analytics_marks::table)
                .values((
                    analytics_marks::tenant_id.eq(tenant_id),
                    analytics_marks::zone.eq(zone.name()),
                    analytics_marks::tzdb.eq(TZDB_VERSION),
                    analytics_marks::from_start.eq(until.naive_utc()),
                    analytics_marks::until_start.eq(until.naive_utc()),
                    analytics_marks::updated_at.eq(now.naive_utc()),
                ))
                .execute(conn)?;
            return Ok(Rolled::Progress);
        }
    };
    let mut rows = Rows::default();
    if mark.until < until {
        // Forward: the days since `until` ended, and the clicks and credits of
        // those days for every email the summary holds.
        let first = local_date(mark.until, zone);
        let end = shift_days(first, CHUNK_DAYS, true).min(local_date(until, zone));
        let new_until = start_of_local_day(end, zone);
        count_days(conn, tenant_id, zone, first, end, &mut rows)?;
        let sends = Span::new(mark.from, new_until);
        let horizon = Horizon::between(mark.until, new_until);
        add_decided_and_insert(conn, tenant_id, zone, sends, horizon, rows)?;
        diesel::update(analytics_marks::table.filter(analytics_marks::tenant_id.eq(tenant_id)))
            .set((
                analytics_marks::until_start.eq(new_until.naive_utc()),
                analytics_marks::updated_at.eq(now.naive_utc()),
            ))
            .execute(conn)?;
        return Ok(Rolled::Progress);
    }
    if let Some(floor) = floor
        && floor < mark.from
    {
        // Back: older days, with their emails' clicks and credits decided
        // before `until`.
        let end = local_date(mark.from, zone);
        let first = shift_days(end, CHUNK_DAYS, false).max(local_date(floor, zone));
        let new_from = start_of_local_day(first, zone);
        count_days(conn, tenant_id, zone, first, end, &mut rows)?;
        let sends = Span::new(new_from, mark.from);
        let horizon = Horizon::before(mark.until);
        add_decided_and_insert(conn, tenant_id, zone, sends, horizon, rows)?;
        diesel::update(analytics_marks::table.filter(analytics_marks::tenant_id.eq(tenant_id)))
            .set((
                analytics_marks::from_start.eq(new_from.naive_utc()),
                analytics_marks::updated_at.eq(now.naive_utc()),
            ))
            .execute(conn)?;
        return Ok(Rolled::Progress);
    }
    Ok(Rolled::Done)
}

/// Brings a tenant's summary up to date for `zone` at `now`: every local day
/// that ended [`SEAL_MARGIN`] ago counted, back to `down_to` when given (the
/// first day of a report about to be read). Idempotent; many may call it at
/// once. Returns false when the tenant's lock stayed taken by writers and it
/// gave up for now (reports are exact either way, only slower).
pub fn ensure(
    conn: &mut DbConn,
    tenant_id: &str,
    zone: Tz,
    now: DateTime<Utc>,
    down_to: Option<NaiveDate>,
) -> StoreResult<bool> {
    let until = sealed_until(now, zone);
    let floor = down_to
        .map(|day| start_of_local_day(day, zone))
        .filter(|floor| *floor < until);
    // The usual case, read without any lock: nothing to do.
    if let Some(mark) = read_mark(conn, tenant_id)?
        && mark.fits(zone)
        && mark.until >= until
        && floor.is_none_or(|floor| mark.from <= floor)
    {
        return Ok(true);
    }
    let mut busy = 0;
    loop {
        let rolled = write_transaction(conn, |conn| {
            roll_once(conn, tenant_id, zone, until, floor, now)
        })?;
        match rolled {
            Rolled::Done => return Ok(true),
            Rolled::Progress => {}
            Rolled::Busy => {
                busy += 1;
                if busy >= LOCK_TRIES {
                    return Ok(false);
                }
                std::thread::sleep(LOCK_PAUSE);
            }
        }
    }
}

/// The worker's housekeeping: [`ensure`] for every tenant in its current
/// zone, back to the oldest day a report can cover from today
/// ([`MAX_PERIOD_DAYS`]). Returns how many tenants' summaries are complete.
pub fn ensure_all(conn: &mut DbConn, now: DateTime<Utc>) -> StoreResult<usize> {
    let mut done = 0;
    for tenant in crate::tenants::list_tenants(conn)? {
        let zone = match tenant.recovery_policy() {
            Ok(policy) => policy.zone(),
            Err(error) => {
                tracing::warn!(tenant = %tenant.id, %error, "no analytics summary: the policy is unreadable");
                continue;
            }
        };
        let down_to = shift_days(local_date(now, zone), u64::from(MAX_PERIOD_DAYS - 1), false);
        // One tenant's trouble (deleted meanwhile, say) does not hold up the
        // others; its reports stay exact, counted live.
        match ensure(conn, &tenant.id, zone, now, Some(down_to)) {
            Ok(true) => done += 1,
            Ok(false) => {}
            Err(error) if error.is_unavailable() => return Err(error),
            Err(error) => {
                tracing::warn!(tenant = %tenant.id, %error, "analytics summary not brought up to date");
            }
        }
    }
    Ok(done)
}

/// A summary row as a report reads it: one day, kind and label, every sealing
/// day added up.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub(crate) struct DayRow {
    #[diesel(sql_type = Timestamp)]
    pub day_start: NaiveDateTime,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub label: String,
    #[diesel(sql_type = BigInt)]
    pub events: i64,
    #[diesel(sql_type = BigInt)]
    pub valued: i64,
    #[diesel(sql_type = BigInt)]
    pub millions: i64,
    #[diesel(sql_type = BigInt)]
    pub rest: i64,
}

/// What the summary gives a report: the whole local days `days` of the
/// period, counted with the clicks and credits decided before `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Covered {
    pub days: Span,
    pub until: DateTime<Utc>,
    pub rows: Vec<DayRow>,
}

/// The part of `period` the tenant's summary answers, read in the caller's
/// snapshot; None when it answers none (no summary, another zone, days that
/// do not start where the period's do).
pub(crate) fn covered(
    conn: &mut DbConn,
    tenant_id: &str,
    period: &AnalyticsPeriod,
) -> StoreResult<Option<Covered>> {
    let zone = period.zone();
    let Some(mark) = read_mark(conn, tenant_id)? else {
        return Ok(None);
    };
    if !mark.fits(zone) || period.start() != start_of_local_day(period.first_day(), zone) {
        return Ok(None);
    }
    let from = period.start().max(mark.from);
    // Whole days only: a period that ends inside a day before `until` (a
    // "last days" period of the past) has that day counted live.
    let to = if period.end() >= mark.until {
        mark.until
    } else {
        day_start(period.end(), zone)
    };
    if from >= to {
        return Ok(None);
    }
    let sql = "SELECT day_start, kind, label, CAST(SUM(events) AS BIGINT) AS events, \
                 CAST(SUM(valued) AS BIGINT) AS valued, CAST(SUM(millions) AS BIGINT) AS millions, \
                 CAST(SUM(rest) AS BIGINT) AS rest \
               FROM analytics_days \
               WHERE tenant_id = $1 AND day_start >= $2 AND day_start < $3 \
               GROUP BY day_start, kind, label";
    let rows: Vec<DayRow> = diesel::sql_query(dialect(conn, sql))
        .bind::<Text, _>(tenant_id)
        .bind::<Timestamp, _>(from.naive_utc())
        .bind::<Timestamp, _>(to.naive_utc())
        .load(conn)?;
    Ok(Some(Covered {
        days: Span::new(from, to),
        until: mark.until,
        rows,
    }))
}
