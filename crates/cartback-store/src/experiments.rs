//! Experiments on the recovery flow (holdouts and A/B tests): their groups and
//! status, the tenant's assignment key, the carts' recorded groups, and the
//! per-group tallies the figures are computed from.
//!
//! The assignment key is a server-side HMAC key, stored as it is, like the
//! link secret: sealing it would protect nothing, since every cart's group is
//! stored beside it in the clear anyway (docs/experiments.md).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;

use cartback_domain::{
    Currency, ExperimentDesign, ExperimentGroup, ExperimentKind, GroupTally, RecoveryPolicy,
};

use crate::columns::{Json, Stored, json_text, text_enum};
use crate::connection::{DbConn, lock_key, write_transaction};
use crate::error::{StoreError, StoreResult};
use crate::ids::{random_id, time_ordered_id};
use crate::schema::{carts, experiments, orders, tenants};

/// Where an experiment stands. Draft → running → stopped, never back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExperimentStatus {
    /// Made, not started: no cart is assigned yet.
    Draft,
    /// Carts are assigned as they are abandoned.
    Running,
    /// No more carts are assigned; those assigned keep their group.
    Stopped,
}

impl ExperimentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExperimentStatus::Draft => "draft",
            ExperimentStatus::Running => "running",
            ExperimentStatus::Stopped => "stopped",
        }
    }

    pub fn parse(s: &str) -> Option<ExperimentStatus> {
        Some(match s {
            "draft" => ExperimentStatus::Draft,
            "running" => ExperimentStatus::Running,
            "stopped" => ExperimentStatus::Stopped,
            _ => return None,
        })
    }
}

text_enum!(
    ExperimentStatus,
    "experiments.status",
    ExperimentStatus::parse
);
text_enum!(ExperimentKind, "experiments.kind", ExperimentKind::parse);
crate::columns::json_column!(Vec<ExperimentGroup>);

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = experiments)]
pub struct ExperimentRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    #[diesel(deserialize_as = Stored<ExperimentKind>)]
    pub kind: ExperimentKind,
    #[diesel(deserialize_as = Stored<ExperimentStatus>)]
    pub status: ExperimentStatus,
    #[diesel(deserialize_as = Json<Vec<ExperimentGroup>>)]
    pub groups: Vec<ExperimentGroup>,
    /// The group whose variant was promoted into the policy.
    pub winner: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub stopped_at: Option<NaiveDateTime>,
}

impl ExperimentRow {
    /// The stored groups as a design (checked when the experiment was made).
    pub fn design(&self) -> StoreResult<ExperimentDesign> {
        ExperimentDesign::stored(self.groups.clone())
            .map_err(|e| StoreError::Corrupt(format!("experiment {} groups: {e}", self.id)))
    }
}

/// Enough experiments for any shop's history; each is one row.
pub const MAX_EXPERIMENTS: usize = 200;

/// Why an experiment could not be made or moved on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExperimentRefusal {
    NotFound,
    /// The tenant has [`MAX_EXPERIMENTS`] already.
    TooMany,
    /// Another experiment of the tenant is running (its id).
    AnotherRunning(String),
    /// The experiment is not in a status that allows this (its status).
    WrongStatus(ExperimentStatus),
    /// The shop's policy or email settings changed after the promotion was
    /// worked out from them: nothing was written (work it out again).
    SettingsChanged,
}

/// The stored settings a promotion was worked out from (the tenant's
/// `policy` and `experience` columns as read): promoting writes only if they
/// are still what is stored, so a change made meanwhile is never overwritten.
#[derive(Debug, Clone, Copy)]
pub struct PromotionBase<'a> {
    pub policy: &'a str,
    pub experience: &'a str,
}

/// Makes a draft experiment, and the tenant's assignment key if it has none.
pub fn create_experiment(
    conn: &mut DbConn,
    tenant_id: &str,
    name: &str,
    design: &ExperimentDesign,
    now: DateTime<Utc>,
) -> StoreResult<Result<ExperimentRow, ExperimentRefusal>> {
    let now = now.naive_utc();
    let groups = json_text(design.groups())?;
    write_transaction(conn, |conn| {
        lock_key(conn, &format!("experiments:{tenant_id}"))?;
        let count: i64 = experiments::table
            .filter(experiments::tenant_id.eq(tenant_id))
            .count()
            .get_result(conn)?;
        if usize::try_from(count).unwrap_or(usize::MAX) >= MAX_EXPERIMENTS {
            return Ok(Err(ExperimentRefusal::TooMany));
        }
        diesel::update(
            tenants::table
                .filter(tenants::id.eq(tenant_id))
                .filter(tenants::assignment_key.is_null()),
        )
        .set(tenants::assignment_key.eq(random_id("", 43)))
        .execute(conn)?;
        let row = ExperimentRow {
            id: time_ordered_id("exp_", 20),
            tenant_id: tenant_id.to_owned(),
            name: name.to_owned(),
            kind: design.kind(),
            status: ExperimentStatus::Draft,
            groups: design.groups().to_vec(),
            winner: None,
            created_at: now,
            updated_at: now,
            started_at: None,
            stopped_at: None,
        };
        diesel::insert_into(experiments::table)
            .values((
                experiments::id.eq(&row.id),
                experiments::tenant_id.eq(tenant_id),
                experiments::name.eq(name),
                experiments::kind.eq(row.kind.as_str()),
                experiments::status.eq(row.status.as_str()),
                experiments::groups.eq(&groups),
                experiments::created_at.eq(now),
                experiments::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(Ok(row))
    })
}

/// The tenant's experiments, newest first.
pub fn list_experiments(conn: &mut DbConn, tenant_id: &str) -> StoreResult<Vec<ExperimentRow>> {
    Ok(experiments::table
        .filter(experiments::tenant_id.eq(tenant_id))
        .order((experiments::created_at.desc(), experiments::id.desc()))
        .select(ExperimentRow::as_select())
        .load(conn)?)
}

pub fn find_experiment(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
) -> StoreResult<Option<ExperimentRow>> {
    Ok(experiments::table
        .filter(experiments::tenant_id.eq(tenant_id))
        .filter(experiments::id.eq(id))
        .select(ExperimentRow::as_select())
        .first(conn)
        .optional()?)
}

/// Starts a draft experiment, unless another of the tenant's runs.
pub fn start_experiment(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
    now: DateTime<Utc>,
) -> StoreResult<Result<ExperimentRow, ExperimentRefusal>> {
    write_transaction(conn, |conn| {
        lock_key(conn, &format!("experiments:{tenant_id}"))?;
        let Some(experiment) = find_experiment(conn, tenant_id, id)? else {
            return Ok(Err(ExperimentRefusal::NotFound));
        };
        if experiment.status != ExperimentStatus::Draft {
            return Ok(Err(ExperimentRefusal::WrongStatus(experiment.status)));
        }
        if let Some(running) = experiments::table
            .filter(experiments::tenant_id.eq(tenant_id))
            .filter(experiments::status.eq(ExperimentStatus::Running.as_str()))
            .select(experiments::id)
            .first::<String>(conn)
            .optional()?
        {
            return Ok(Err(ExperimentRefusal::AnotherRunning(running)));
        }
        let now = now.naive_utc();
        diesel::update(experiments::table.filter(experiments::id.eq(id)))
            .set((
                experiments::status.eq(ExperimentStatus::Running.as_str()),
                experiments::started_at.eq(now),
                experiments::updated_at.eq(now),
            ))
            .execute(conn)?;
        find_experiment(conn, tenant_id, id)?
            .map(Ok)
            .ok_or(StoreError::NotFound)
    })
}

/// Stops a running experiment: no more carts are assigned.
pub fn stop_experiment(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
    now: DateTime<Utc>,
) -> StoreResult<Result<ExperimentRow, ExperimentRefusal>> {
    write_transaction(conn, |conn| {
        let Some(experiment) = find_experiment(conn, tenant_id, id)? else {
            return Ok(Err(ExperimentRefusal::NotFound));
        };
        if experiment.status != ExperimentStatus::Running {
            return Ok(Err(ExperimentRefusal::WrongStatus(experiment.status)));
        }
        let now = now.naive_utc();
        diesel::update(experiments::table.filter(experiments::id.eq(id)))
            .set((
                experiments::status.eq(ExperimentStatus::Stopped.as_str()),
                experiments::stopped_at.eq(now),
                experiments::updated_at.eq(now),
            ))
            .execute(conn)?;
        find_experiment(conn, tenant_id, id)?
            .map(Ok)
            .ok_or(StoreError::NotFound)
    })
}

/// Records `winner` and writes `policy` (the winner's variant applied to the
/// shop's policy) as the tenant's policy, and `experience` (the email settings
/// with the variant's words) when the variant changes words, stopping the
/// experiment if it runs.
/// Only a running or stopped experiment has a winner to promote.
#[expect(
    clippy::too_many_arguments,
    reason = "one write of the experiment and of the settings it was worked out from"
)]
pub fn promote_winner(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
    winner: &str,
    base: PromotionBase<'_>,
    policy: &RecoveryPolicy,
    experience: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<Result<ExperimentRow, ExperimentRefusal>> {
    let policy = json_text(policy)?;
    write_transaction(conn, |conn| {
        let Some(experiment) = find_experiment(conn, tenant_id, id)? else {
            return Ok(Err(ExperimentRefusal::NotFound));
        };
        let stored: Option<(String, String)> = tenants::table
            .filter(tenants::id.eq(tenant_id))
            .select((tenants::policy, tenants::experience))
            .first(conn)
            .optional()?;
        let Some((stored_policy, stored_experience)) = stored else {
            return Ok(Err(ExperimentRefusal::NotFound));
        };
        if stored_policy != base.policy || stored_experience != base.experience {
            return Ok(Err(ExperimentRefusal::SettingsChanged));
        }
        if experiment.status == ExperimentStatus::Draft {
            return Ok(Err(ExperimentRefusal::WrongStatus(experiment.status)));
        }
        let now = now.naive_utc();
        diesel::update(experiments::table.filter(experiments::id.eq(id)))
            .set((
                experiments::status.eq(ExperimentStatus::Stopped.as_str()),
                experiments::stopped_at.eq(experiment.stopped_at.unwrap_or(now)),
                experiments::winner.eq(winner),
                experiments::updated_at.eq(now),
            ))
            .execute(conn)?;
        diesel::update(tenants::table.filter(tenants::id.eq(tenant_id)))
            .set((tenants::policy.eq(&policy), tenants::updated_at.eq(now)))
            .execute(conn)?;
        if let Some(experience) = experience {
            diesel::update(tenants::table.filter(tenants::id.eq(tenant_id)))
                .set(tenants::experience.eq(experience))
                .execute(conn)?;
        }
        find_experiment(conn, tenant_id, id)?
            .map(Ok)
            .ok_or(StoreError::NotFound)
    })
}

/// The running experiment of each of these tenants that has one.
pub fn running_experiments(
    conn: &mut DbConn,
    tenant_ids: &[&str],
) -> StoreResult<Vec<ExperimentRow>> {
    Ok(experiments::table
        .filter(experiments::tenant_id.eq_any(tenant_ids))
        .filter(experiments::status.eq(ExperimentStatus::Running.as_str()))
        .select(ExperimentRow::as_select())
        .load(conn)?)
}

/// These experiments, by `(tenant, id)`.
pub fn experiments_by_ids(
    conn: &mut DbConn,
    keys: &[(String, String)],
) -> StoreResult<Vec<ExperimentRow>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = keys.iter().map(|(_, id)| id.as_str()).collect();
    let rows: Vec<ExperimentRow> = experiments::table
        .filter(experiments::id.eq_any(&ids))
        .select(ExperimentRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|row| {
            keys.iter()
                .any(|(t, id)| *t == row.tenant_id && *id == row.id)
        })
        .collect())
}

/// The tenants' assignment keys (tenants with none are left out).
pub fn assignment_keys(
    conn: &mut DbConn,
    tenant_ids: &[&str],
) -> StoreResult<BTreeMap<String, String>> {
    let rows: Vec<(String, Option<String>)> = tenants::table
        .filter(tenants::id.eq_any(tenant_ids))
        .select((tenants::id, tenants::assignment_key))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, key)| Some((id, key?)))
        .collect())
}

/// A cart's group, as recorded on the cart (JSON in `carts.experiment`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CartAssignment {
    pub experiment_id: String,
    pub group: String,
    /// The holdout: the cart gets no recovery email.
    pub held_out: bool,
    /// [`cartback_domain::policy_version`] of the policy it was assigned under.
    pub policy_version: String,
    pub assigned_at: DateTime<Utc>,
}

impl From<crate::columns::JsonOrNull<CartAssignment>> for Option<CartAssignment> {
    fn from(stored: crate::columns::JsonOrNull<CartAssignment>) -> Option<CartAssignment> {
        stored.0
    }
}

/// A cart's group, as the worker decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub tenant_id: String,
    pub cart_id: String,
    pub assignment: CartAssignment,
}

/// Records each cart's group unless it has one already (a cart keeps its
/// first group for good). Returns the carts whose group was recorded now.
pub fn record_assignments(
    conn: &mut DbConn,
    assignments: &[Assignment],
) -> StoreResult<Vec<String>> {
    if assignments.is_empty() {
        return Ok(Vec::new());
    }
    write_transaction(conn, |conn| {
        let mut recorded = Vec::new();
        for a in assignments {
            let changed = diesel::update(
                carts::table
                    .filter(carts::tenant_id.eq(&a.tenant_id))
                    .filter(carts::id.eq(&a.cart_id))
                    .filter(carts::experiment_id.is_null()),
            )
            .set((
                carts::experiment_id.eq(&a.assignment.experiment_id),
                carts::experiment.eq(json_text(&a.assignment)?),
                carts::version.eq(carts::version + 1),
            ))
            .execute(conn)?;
            if changed > 0 {
                recorded.push(a.cart_id.clone());
            }
        }
        Ok(recorded)
    })
}

/// One assigned cart, as the figures need it: its group, currency, and the
/// first order of its shopper after the assignment, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignedCart {
    pub group: String,
    pub currency: String,
    pub cart_total_minor: i64,
    pub assigned_at: NaiveDateTime,
    /// The cart's orders: when, how much, in which currency.
    pub orders: Vec<(NaiveDateTime, Option<i64>, String)>,
}

/// Every cart of the experiment, with its orders.
pub fn assigned_carts(
    conn: &mut DbConn,
    tenant_id: &str,
    experiment_id: &str,
) -> StoreResult<Vec<AssignedCart>> {
    type Row = (
        String,
        String,
        String,
        i64,
        Option<NaiveDateTime>,
        Option<i64>,
        Option<String>,
    );
    let rows: Vec<Row> = carts::table
        .left_join(
            orders::table.on(orders::cart_id
                .eq(carts::id.nullable())
                .and(orders::tenant_id.eq(carts::tenant_id))),
        )
        .filter(carts::tenant_id.eq(tenant_id))
        .filter(carts::experiment_id.eq(experiment_id))
        .filter(carts::experiment.is_not_null())
        .order(carts::id)
        .select((
            carts::id,
            carts::experiment.assume_not_null(),
            carts::currency,
            carts::total_minor,
            orders::created_at.nullable(),
            orders::total_minor.nullable(),
            orders::currency.nullable(),
        ))
        .load(conn)?;
    let mut carts: Vec<(String, AssignedCart)> = Vec::new();
    for (id, assignment, currency, total, ordered_at, order_total, order_currency) in rows {
        if carts.last().is_none_or(|(last, _)| *last != id) {
            let assignment: CartAssignment = serde_json::from_str(&assignment)
                .map_err(|e| StoreError::Corrupt(format!("cart {id} experiment: {e}")))?;
            carts.push((
                id.clone(),
                AssignedCart {
                    group: assignment.group,
                    currency,
                    cart_total_minor: total,
                    assigned_at: assignment.assigned_at.naive_utc(),
                    orders: Vec::new(),
                },
            ));
        }
        if let (Some(at), Some(order_currency), Some((_, cart))) =
            (ordered_at, order_currency, carts.last_mut())
        {
            cart.orders.push((at, order_total, order_currency));
        }
    }
    Ok(carts.into_iter().map(|(_, cart)| cart).collect())
}

/// Tallies the experiment's carts per group. A cart is recovered when an
/// order for it arrived within `window` after its assignment, whatever
/// emails it got (none, for the holdout); its revenue is that order's total
/// when the order is in the cart's currency and says it, else the cart's.
pub fn tally_groups(
    carts: &[AssignedCart],
    window: TimeDelta,
) -> StoreResult<BTreeMap<String, GroupTally>> {
    let mut tallies: BTreeMap<String, GroupTally> = BTreeMap::new();
    for cart in carts {
        let currency = Currency::parse(&cart.currency)
            .map_err(|e| StoreError::Corrupt(format!("cart currency: {e}")))?;
        let assigned = cart.assigned_at;
        let recovered = cart
            .orders
            .iter()
            .filter(|(at, _, _)| *at >= assigned && *at - assigned <= window)
            .min_by_key(|(at, _, _)| *at)
            .map(|(_, total, order_currency)| match total {
                Some(total) if *order_currency == cart.currency => *total,
                _ => cart.cart_total_minor,
            });
        tallies
            .entry(cart.group.clone())
            .or_default()
            .add_cart(currency, recovered);
    }
    Ok(tallies)
}

/// The experiment's carts tallied per group ([`assigned_carts`], then
/// [`tally_groups`]).
pub fn experiment_tallies(
    conn: &mut DbConn,
    tenant_id: &str,
    experiment_id: &str,
    window: TimeDelta,
) -> StoreResult<BTreeMap<String, GroupTally>> {
    tally_groups(&assigned_carts(conn, tenant_id, experiment_id)?, window)
}

/// The tenant's experiment `id` with its groups' tallies, as its figures and
/// its promotion need them; None when the tenant has no such experiment.
pub fn experiment_with_tallies(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
    window: TimeDelta,
) -> StoreResult<Option<(ExperimentRow, BTreeMap<String, GroupTally>)>> {
    let Some(row) = find_experiment(conn, tenant_id, id)? else {
        return Ok(None);
    };
    let tallies = experiment_tallies(conn, tenant_id, &row.id, window)?;
    Ok(Some((row, tallies)))
}

/// The tenant's latest holdout experiment that has started (running, or
/// stopped since), if any.
pub fn latest_holdout(conn: &mut DbConn, tenant_id: &str) -> StoreResult<Option<ExperimentRow>> {
    Ok(experiments::table
        .filter(experiments::tenant_id.eq(tenant_id))
        .filter(experiments::kind.eq(ExperimentKind::Holdout.as_str()))
        .filter(experiments::started_at.is_not_null())
        .order((experiments::started_at.desc(), experiments::id.desc()))
        .select(ExperimentRow::as_select())
        .first(conn)
        .optional()?)
}
