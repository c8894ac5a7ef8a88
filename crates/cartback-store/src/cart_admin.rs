//! What a merchant does with its carts through the API: list and filter them,
//! change, hide (soft delete) or erase one, edit its items, and upsert carts by
//! the shop's own id.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use cartback_domain::{
    Attributes, CartItem, CartStatus, MerchantEdit, RecoveryPolicy, ScheduleChange,
    apply_attributes, on_merchant_edit,
};

use crate::carts::{CartRow, CartUpsert, upsert_cart};
use crate::connection::{DbConn, write_transaction};
use crate::erasure::erase_cart_traces;
use crate::error::{StoreError, StoreResult};
use crate::events::{CartEventKind, NewCartEvent, record_events};
use crate::ids::random_id;
use crate::schema::{cart_shop_fields, carts};
use crate::sends::cancel_waiting_sends;
use crate::suppressions::hash_suppression;
use crate::tenants::find_tenant;

/// The `status` filter of the carts list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Is(CartStatus),
    /// Abandoned with a recovery email still to come: see [`PendingRule`].
    Pending,
}

/// What makes an abandoned cart `pending` under the tenant's current policy:
/// its sequence is still running. It has an address, the shopper did not
/// unsubscribe, it had fewer emails than the policy sends a cart
/// ([`RecoveryPolicy::emails_per_cart`]), it is worth at least the minimum
/// value, and the shopper consented when the policy asks for consent. Rules
/// about the address rather than the cart (the suppression list, the cooldown
/// across carts, the daily cap per address) are not looked at: they delay or
/// skip an email the worker decides on when it comes due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingRule {
    pub emails_per_cart: i32,
    pub min_total_minor: i64,
    pub require_consent: bool,
}

impl PendingRule {
    pub fn of(policy: &RecoveryPolicy) -> PendingRule {
        PendingRule {
            emails_per_cart: i32::try_from(policy.emails_per_cart()).unwrap_or(i32::MAX),
            min_total_minor: policy.min_cart_value_minor,
            require_consent: policy.require_consent,
        }
    }
}

impl StatusFilter {
    /// The words of the filter: a status, `pending`, or `all` (or nothing)
    /// for no filter. Err for anything else.
    pub fn parse(text: &str) -> Result<Option<StatusFilter>, InvalidStatus> {
        match text.trim() {
            "pending" => Ok(Some(StatusFilter::Pending)),
            "all" | "" => Ok(None),
            other => CartStatus::parse(other)
                .map(|status| Some(StatusFilter::Is(status)))
                .map_err(|_| InvalidStatus),
        }
    }
}

/// A status filter that is none of the words [`StatusFilter::parse`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be one of active, abandoned, pending, recovered, converted, expired, all")]
pub struct InvalidStatus;

/// Filters of `GET /api/v1/carts`; every one optional.
#[derive(Debug, Clone, Default)]
pub struct CartFilter {
    pub status: Option<StatusFilter>,
    pub created_after: Option<NaiveDateTime>,
    pub created_before: Option<NaiveDateTime>,
    pub updated_after: Option<NaiveDateTime>,
    pub updated_before: Option<NaiveDateTime>,
    /// The time the cart was (last) abandoned; carts without one (never
    /// abandoned, or active again since) are left out by these two.
    pub abandoned_after: Option<NaiveDateTime>,
    pub abandoned_before: Option<NaiveDateTime>,
    /// `nl` matches `nl` and every `nl-…`; `nl-NL` matches exactly.
    pub locale: Option<String>,
    /// Compared case-insensitively.
    pub email: Option<String>,
    /// Soft-deleted carts are listed too (erased ones never: they have no
    /// shop id, and only carts with one are listed with this).
    pub include_deleted: bool,
    /// Only carts the shop gave its own id (`external_id`).
    pub with_shop_id: bool,
}

/// The exclusive lower bound that still includes `at`: stored times are at
/// most nanosecond-precise, so nothing lies between the two. (An `*_after`
/// filter is exclusive; a whole day starts with its first instant.)
pub fn just_before(at: DateTime<Utc>) -> NaiveDateTime {
    at.naive_utc() - chrono::TimeDelta::nanoseconds(1)
}

/// The tenant's visible carts matching `$filter`, as a boxed query (one
/// expansion per backend, since a boxed query is typed by its backend).
/// `$pending` is the tenant's [`PendingRule`] when the filter asks for pending
/// carts ([`pending_rule`]).
macro_rules! filtered_carts {
    ($tenant_id:expr, $filter:expr, $pending:expr) => {{
        let filter: &CartFilter = $filter;
        let pending: Option<PendingRule> = $pending;
        let mut query = carts::table
            .filter(carts::tenant_id.eq($tenant_id))
            .into_boxed();
        if !filter.include_deleted {
            query = query.filter(carts::deleted_at.is_null());
        }
        if filter.with_shop_id {
            query = query.filter(carts::external_id.is_not_null());
        }
        match filter.status {
            Some(StatusFilter::Is(status)) => {
                query = query.filter(carts::status.eq(status.as_str()));
            }
            Some(StatusFilter::Pending) => {
                query = query.filter(carts::status.eq(CartStatus::Abandoned.as_str()));
            }
            None => {}
        }
        if let Some(rule) = pending {
            query = query
                .filter(carts::customer_email.is_not_null())
                .filter(carts::customer_email.ne(""))
                .filter(carts::unsubscribed_at.is_null())
                .filter(carts::next_step.lt(rule.emails_per_cart))
                .filter(carts::total_minor.ge(rule.min_total_minor));
            if rule.require_consent {
                query = query.filter(carts::consent.eq(1));
            }
        }
        if let Some(at) = filter.abandoned_after {
            query = query.filter(carts::abandoned_at.gt(at));
        }
        if let Some(at) = filter.abandoned_before {
            query = query.filter(carts::abandoned_at.lt(at));
        }
        if let Some(at) = filter.created_after {
            query = query.filter(carts::created_at.gt(at));
        }
        if let Some(at) = filter.created_before {
            query = query.filter(carts::created_at.lt(at));
        }
        if let Some(at) = filter.updated_after {
            query = query.filter(carts::updated_at.gt(at));
        }
        if let Some(at) = filter.updated_before {
            query = query.filter(carts::updated_at.lt(at));
        }
        if let Some(locale) = &filter.locale {
            query = query.filter(
                carts::locale
                    .eq(locale.clone())
                    .or(carts::locale.like(format!("{}-%", locale.replace(['%', '_'], "")))),
            );
        }
        if let Some(email) = &filter.email {
            query = query.filter(
                diesel::dsl::sql::<diesel::sql_types::Bool>("lower(customer_email) = ")
                    .bind::<diesel::sql_types::Text, _>(email.trim().to_lowercase()),
            );
        }
        query
    }};
}

/// The tenant's [`PendingRule`] when `filter` asks for pending carts: its
/// current policy, read now. None when the filter does not need it.
fn pending_rule(
    conn: &mut DbConn,
    tenant_id: &str,
    filter: &CartFilter,
) -> StoreResult<Option<PendingRule>> {
    if filter.status != Some(StatusFilter::Pending) {
        return Ok(None);
    }
    // A tenant deleted meanwhile has no carts either: its default rule finds none.
    let policy = match find_tenant(conn, tenant_id)? {
        Some(tenant) => tenant.recovery_policy()?,
        None => RecoveryPolicy::default(),
    };
    Ok(Some(PendingRule::of(&policy)))
}

/// One page of the tenant's visible carts, newest first (ties by id, so pages
/// never overlap), and how many match in all.
pub fn list_carts(
    conn: &mut DbConn,
    tenant_id: &str,
    filter: &CartFilter,
    page: i64,
    per_page: i64,
) -> StoreResult<(Vec<CartRow>, i64)> {
    let pending = pending_rule(conn, tenant_id, filter)?;
    let total: i64 = match conn {
        DbConn::Postgres(pg) => filtered_carts!(tenant_id, filter, pending)
            .count()
            .get_result(pg)?,
        DbConn::Sqlite(sqlite) => filtered_carts!(tenant_id, filter, pending)
            .count()
            .get_result(sqlite)?,
    };
    let offset = (page.max(1) - 1).saturating_mul(per_page);
    let rows = match conn {
        DbConn::Postgres(pg) => filtered_carts!(tenant_id, filter, pending)
            .order((carts::created_at.desc(), carts::id.desc()))
            .limit(per_page)
            .offset(offset)
            .select(CartRow::as_select())
            .load(pg)?,
        DbConn::Sqlite(sqlite) => filtered_carts!(tenant_id, filter, pending)
            .order((carts::created_at.desc(), carts::id.desc()))
            .limit(per_page)
            .offset(offset)
            .select(CartRow::as_select())
            .load(sqlite)?,
    };
    Ok((rows, total))
}

/// A place in the newest-first list of carts: the creation time and id of a
/// cart shown, so the next page starts right after it however many carts
/// arrive meanwhile (no offset to skip, no count to take).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartCursor {
    pub created_at: NaiveDateTime,
    pub id: String,
}

impl CartCursor {
    pub fn of(cart: &CartRow) -> CartCursor {
        CartCursor {
            created_at: cart.created_at,
            id: cart.id.clone(),
        }
    }

    /// `{seconds}.{nanoseconds}.{id}`: opaque to the reader, exact to the
    /// stored time.
    pub fn to_token(&self) -> String {
        let at = self.created_at.and_utc();
        format!(
            "{}.{:09}.{}",
            at.timestamp(),
            at.timestamp_subsec_nanos(),
            self.id
        )
    }

    /// None for anything [`CartCursor::to_token`] did not make.
    pub fn from_token(token: &str) -> Option<CartCursor> {
        let mut parts = token.splitn(3, '.');
        let seconds: i64 = parts.next()?.parse().ok()?;
        let nanos: u32 = parts.next()?.parse().ok()?;
        let id = parts.next()?;
        let valid_id = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid_id || nanos >= 1_000_000_000 {
            return None;
        }
        let at = DateTime::from_timestamp(seconds, nanos)?;
        cartback_domain::bounds::check_instant(at).ok()?;
        Some(CartCursor {
            created_at: at.naive_utc(),
            id: id.to_owned(),
        })
    }
}

/// Which way a keyset page goes from its cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartPageFrom {
    /// The newest carts.
    Start,
    /// The carts older than this one (the next page).
    After(CartCursor),
    /// The carts newer than this one (the previous page).
    Before(CartCursor),
}

/// A keyset page of carts, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartPage {
    pub carts: Vec<CartRow>,
    /// Older carts exist past the last one.
    pub has_older: bool,
    /// Newer carts exist before the first one.
    pub has_newer: bool,
}

/// Up to `limit` of the tenant's visible carts matching `filter`, newest first,
/// from `from`. Walks the `(tenant_id, created_at, id)` index (or the status
/// one) from the cursor and stops after `limit + 1` rows: the cost is the page,
/// not the number of carts, and nothing is counted.
pub fn list_carts_keyset(
    conn: &mut DbConn,
    tenant_id: &str,
    filter: &CartFilter,
    from: &CartPageFrom,
    limit: i64,
) -> StoreResult<CartPage> {
    let limit = limit.clamp(1, 500);
    let pending = pending_rule(conn, tenant_id, filter)?;
    macro_rules! page {
        ($conn:expr) => {{
            let query = filtered_carts!(tenant_id, filter, pending);
            match from {
                CartPageFrom::Start => query
                    .order((carts::created_at.desc(), carts::id.desc()))
                    .limit(limit + 1)
                    .select(CartRow::as_select())
                    .load($conn)?,
                // The plain bound lets both planners seek the index to the
                // cursor; the OR then settles ties by id.
                CartPageFrom::After(cursor) => query
                    .filter(carts::created_at.le(cursor.created_at))
                    .filter(
                        carts::created_at.lt(cursor.created_at).or(carts::created_at
                            .eq(cursor.created_at)
                            .and(carts::id.lt(cursor.id.clone()))),
                    )
                    .order((carts::created_at.desc(), carts::id.desc()))
                    .limit(limit + 1)
                    .select(CartRow::as_select())
                    .load($conn)?,
                CartPageFrom::Before(cursor) => query
                    .filter(carts::created_at.ge(cursor.created_at))
                    .filter(
                        carts::created_at.gt(cursor.created_at).or(carts::created_at
                            .eq(cursor.created_at)
                            .and(carts::id.gt(cursor.id.clone()))),
                    )
                    .order((carts::created_at.asc(), carts::id.asc()))
                    .limit(limit + 1)
                    .select(CartRow::as_select())
                    .load($conn)?,
            }
        }};
    }
    let mut rows: Vec<CartRow> = match conn {
        DbConn::Postgres(pg) => page!(pg),
        DbConn::Sqlite(sqlite) => page!(sqlite),
    };
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    Ok(match from {
        CartPageFrom::Start => CartPage {
            carts: rows,
            has_older: more,
            has_newer: false,
        },
        CartPageFrom::After(_) => CartPage {
            carts: rows,
            has_older: more,
            has_newer: true,
        },
        CartPageFrom::Before(_) => {
            rows.reverse();
            CartPage {
                carts: rows,
                has_older: true,
                has_newer: more,
            }
        }
    })
}

/// A cart by id, else by the storefront's session id, else by the shop's own id;
/// soft-deleted carts only when `include_deleted`.
pub fn find_cart_by_any_id(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
    include_deleted: bool,
) -> StoreResult<Option<CartRow>> {
    let lookup = |conn: &mut DbConn, column: &str| -> StoreResult<Option<CartRow>> {
        let base = carts::table
            .filter(carts::tenant_id.eq(tenant_id))
            .select(CartRow::as_select());
        Ok(match column {
            "id" => base.filter(carts::id.eq(id)).first(conn).optional()?,
            "session" => base
                .filter(carts::session_id.eq(id))
                .first(conn)
                .optional()?,
            _ => base
                .filter(carts::external_id.eq(id))
                .first(conn)
                .optional()?,
        })
    };
    for column in ["id", "session", "external"] {
        if let Some(cart) = lookup(conn, column)? {
            return Ok((include_deleted || cart.deleted_at.is_none()).then_some(cart));
        }
    }
    Ok(None)
}

/// [`find_cart_by_any_id`] inside the caller's write transaction, with the
/// cart's row locked until it ends, so a read-modify-write of the cart cannot
/// lose a concurrent one. On PostgreSQL the row is re-read `FOR UPDATE` (a
/// concurrent writer's commit is seen once its lock is released); on SQLite
/// [`write_transaction`]'s `BEGIN IMMEDIATE` already holds the database's
/// write lock, so the plain read is current.
pub fn lock_cart_by_any_id(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
    include_deleted: bool,
) -> StoreResult<Option<CartRow>> {
    let Some(found) = find_cart_by_any_id(conn, tenant_id, id, include_deleted)? else {
        return Ok(None);
    };
    match conn {
        DbConn::Postgres(pg) => {
            let locked = carts::table
                .filter(carts::tenant_id.eq(tenant_id))
                .filter(carts::id.eq(&found.id))
                .select(CartRow::as_select())
                .for_update()
                .first(pg)
                .optional()?;
            Ok(locked.filter(|cart| include_deleted || cart.deleted_at.is_none()))
        }
        DbConn::Sqlite(_) => Ok(Some(found)),
    }
}

/// Whether a client's `If-Match` version (if it sent one) is stale.
fn stale(cart: &CartRow, expected_version: Option<i64>) -> bool {
    expected_version.is_some_and(|expected| expected != cart.version)
}

/// How a guarded change of a cart went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edited<E> {
    Updated(Box<CartRow>),
    NotFound,
    /// The client's `If-Match` version is not the cart's: nothing was changed.
    Stale {
        version: i64,
    },
    /// The edit refused the change; nothing was changed.
    Refused(E),
}

fn reread(conn: &mut DbConn, tenant_id: &str, id: &str) -> StoreResult<CartRow> {
    Ok(carts::table
        .filter(carts::tenant_id.eq(tenant_id))
        .filter(carts::id.eq(id))
        .select(CartRow::as_select())
        .first(conn)?)
}

/// What a PATCH changes; None leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct CartPatch {
    pub status: Option<CartStatus>,
    pub customer_email: Option<Option<String>>,
    pub customer_name: Option<Option<String>>,
    /// The full new attribute set (the caller merged it).
    pub attributes: Option<Attributes>,
    /// Attribute changes in the wire form (`[{name, <type>Value}]`, an entry
    /// without a value removes it), merged into the cart's current set under
    /// the row lock so concurrent PATCHes of different names all stay.
    /// Applied after `attributes`.
    pub merge_attributes: Option<Vec<serde_json::Value>>,
    /// The version the client last saw (`If-Match`); None: last writer wins.
    pub expected_version: Option<i64>,
}

/// How a PATCH went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchOutcome {
    Updated(Box<CartRow>),
    NotFound,
    /// The change is not allowed; the text says why.
    Refused(String),
    /// The client's `If-Match` version is not the cart's: nothing was changed.
    Stale {
        version: i64,
    },
    /// An attribute change is invalid: the field (`attributes[2]`) and why.
    Invalid {
        field: String,
        message: String,
    },
}

/// Applies a merchant's change under the cart's row lock; what a status or
/// address change does to the cart's lifecycle and schedule is the domain's
/// [`on_merchant_edit`] (a closed cart is not reopened by hand, closing stops
/// the emails).
pub fn patch_cart(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
    patch: &CartPatch,
    now: DateTime<Utc>,
) -> StoreResult<PatchOutcome> {
    write_transaction(conn, |conn| {
        patch_in_transaction(conn, tenant_id, id, patch, now)
    })
}

/// [`patch_cart`] inside the caller's write transaction.
fn patch_in_transaction(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
    patch: &CartPatch,
    now: DateTime<Utc>,
) -> StoreResult<PatchOutcome> {
    let stamp = now.naive_utc();
    {
        let Some(cart) = lock_cart_by_any_id(conn, tenant_id, id, false)? else {
            return Ok(PatchOutcome::NotFound);
        };
        if stale(&cart, patch.expected_version) {
            return Ok(PatchOutcome::Stale {
                version: cart.version,
            });
        }
        let email = patch
            .customer_email
            .clone()
            .unwrap_or(cart.customer_email.clone());
        let name = patch
            .customer_name
            .clone()
            .unwrap_or(cart.customer_name.clone());
        let change = match on_merchant_edit(MerchantEdit {
            current: cart.status,
            requested: patch.status,
            email_changed: email != cart.customer_email,
            held_by_worker: cart.locked_by.is_some(),
        }) {
            Ok(change) => change,
            Err(refusal) => return Ok(PatchOutcome::Refused(refusal.to_string())),
        };
        let attributes = match (&patch.attributes, &patch.merge_attributes) {
            (None, None) => cart.attributes.clone(),
            (given, changes) => {
                let mut attributes = match given {
                    Some(attributes) => attributes.clone(),
                    None => cart.attributes.clone(),
                };
                if let Some(changes) = changes
                    && let Err((at, error)) = apply_attributes(&mut attributes, changes)
                {
                    return Ok(PatchOutcome::Invalid {
                        field: at.map_or_else(
                            || "attributes".to_owned(),
                            |i| format!("attributes[{i}]"),
                        ),
                        message: error.to_string(),
                    });
                }
                attributes
            }
        };
        let attributes =
            serde_json::to_string(&attributes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let next_action_at = match change.schedule {
            ScheduleChange::Keep => cart.next_action_at,
            ScheduleChange::Clear => None,
            ScheduleChange::WakeNow => Some(stamp),
        };
        let ordered_at = if change.marks_ordered {
            Some(stamp)
        } else {
            cart.ordered_at
        };
        // Abandoned by hand is abandoned now, as when the worker decides it;
        // active again forgets it, as a tracked update does.
        let abandoned_at = match change.status {
            CartStatus::Active => None,
            CartStatus::Abandoned if cart.status != CartStatus::Abandoned => Some(stamp),
            _ => cart.abandoned_at,
        };
        diesel::update(
            carts::table
                .filter(carts::tenant_id.eq(tenant_id))
                .filter(carts::id.eq(&cart.id)),
        )
        .set((
            carts::status.eq(change.status.as_str()),
            carts::customer_email.eq(&email),
            carts::customer_name.eq(&name),
            carts::attributes.eq(&attributes),
            carts::next_action_at.eq(next_action_at),
            carts::ordered_at.eq(ordered_at),
            carts::abandoned_at.eq(abandoned_at),
            carts::updated_at.eq(stamp),
            carts::version.eq(carts::version + 1),
        ))
        .execute(conn)?;
        if change.closes {
            cancel_waiting_sends(conn, tenant_id, &cart.id, now)?;
        }
        if change.marks_ordered {
            crate::orders::record_manual_order(conn, &cart, change.status, now)?;
        }
        // Abandoned by hand counts as abandoned by the worker does: the
        // history event analytics count, and its webhook.
        if change.status == CartStatus::Abandoned && cart.status != CartStatus::Abandoned {
            record_events(
                conn,
                &[NewCartEvent {
                    tenant_id: tenant_id.to_owned(),
                    cart_id: cart.id.clone(),
                    kind: CartEventKind::Abandoned,
                    step: None,
                    detail: Some("marked by the merchant".to_owned()),
                }],
                now,
            )?;
        }
        Ok(PatchOutcome::Updated(Box::new(reread(
            conn, tenant_id, &cart.id,
        )?)))
    }
}

/// Creates a cart the shop reports as abandoned already (Quick Checkout
/// Tracker's `POST /api/carts`): stored as a tracked update would store it,
/// then abandoned by hand as a PATCH would, in one transaction. `cart` should
/// carry a session id no other cart has.
pub fn create_abandoned_cart(conn: &mut DbConn, cart: &CartUpsert) -> StoreResult<CartRow> {
    write_transaction(conn, |conn| {
        let row = upsert_cart(conn, cart)?;
        let abandon = CartPatch {
            status: Some(CartStatus::Abandoned),
            ..CartPatch::default()
        };
        match patch_in_transaction(conn, &row.tenant_id, &row.id, &abandon, cart.now)? {
            PatchOutcome::Updated(cart) => Ok(*cart),
            other => Err(StoreError::Corrupt(format!(
                "a cart just created could not be abandoned: {other:?}"
            ))),
        }
    })
}

/// Hides a cart from lists and lookups and stops its emails for good.
/// `expected_version` is the client's `If-Match`, if it sent one.
pub fn soft_delete_cart(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
    expected_version: Option<i64>,
    now: DateTime<Utc>,
) -> StoreResult<Edited<std::convert::Infallible>> {
    write_transaction(conn, |conn| {
        let Some(cart) = lock_cart_by_any_id(conn, tenant_id, id, false)? else {
            return Ok(Edited::NotFound);
        };
        if stale(&cart, expected_version) {
            return Ok(Edited::Stale {
                version: cart.version,
            });
        }
        diesel::update(
            carts::table
                .filter(carts::tenant_id.eq(tenant_id))
                .filter(carts::id.eq(&cart.id)),
        )
        .set((
            carts::deleted_at.eq(Some(now.naive_utc())),
            carts::next_action_at.eq(None::<NaiveDateTime>),
            carts::updated_at.eq(now.naive_utc()),
            carts::version.eq(carts::version + 1),
        ))
        .execute(conn)?;
        cancel_waiting_sends(conn, tenant_id, &cart.id, now)?;
        Ok(Edited::Updated(Box::new(reread(
            conn, tenant_id, &cart.id,
        )?)))
    })
}

/// Removes a cart's personal data for good (GDPR erasure): address, name,
/// session id, attributes, item names and links, the recovery links of its
/// emails, its sends' provider error texts and its history details, the address
/// and session on its orders, and the personal fields of every webhook delivery
/// about it (pending ones are cancelled). A plain suppression entry of its
/// address becomes a hashed one. Counts, totals, currency, statuses and dates
/// stay for statistics. The cart is hidden too. Works on deleted carts; erasing
/// twice changes nothing more. All in one transaction.
pub fn erase_cart(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<CartRow>> {
    write_transaction(conn, |conn| {
        let Some(cart) = lock_cart_by_any_id(conn, tenant_id, id, true)? else {
            return Ok(None);
        };
        erase_cart_in(conn, tenant_id, &cart.id, now)?;
        Ok(Some(reread(conn, tenant_id, &cart.id)?))
    })
}

/// How an erasure went: the erased cart, and whether the SQLite WAL could be
/// emptied right after (so the erased data left the disk too; the next
/// checkpoint that starts it over does it otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erased {
    pub cart: CartRow,
    pub flushed: bool,
}

/// [`erase_cart`], then the write-ahead log flushed: what the API's erase and
/// the dashboard's both do. None when there is no such cart.
pub fn erase_cart_for_good(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<Erased>> {
    let Some(cart) = erase_cart(conn, tenant_id, id, now)? else {
        return Ok(None);
    };
    let flushed = crate::erasure::flush_erased(conn)?;
    if !flushed {
        tracing::warn!(
            "the SQLite WAL could not be emptied after an erasure; the next checkpoint that starts it over does"
        );
    }
    Ok(Some(Erased { cart, flushed }))
}

/// [`erase_cart`] of the cart with this id, inside the caller's transaction.
/// Returns the ids of the deliveries it scrubbed, or None when there is no
/// such cart.
pub(crate) fn erase_cart_in(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<Vec<String>>> {
    let stamp = now.naive_utc();
    let Some(cart) =
        lock_cart_by_any_id(conn, tenant_id, cart_id, true)?.filter(|cart| cart.id == cart_id)
    else {
        return Ok(None);
    };
    let items: Vec<CartItem> = cart
        .items
        .clone()
        .into_iter()
        .enumerate()
        .map(|(at, item)| CartItem {
            id: format!("erased-{}", at + 1),
            name: "(erased)".to_owned(),
            image_url: None,
            url: None,
            variant_id: None,
            ..item
        })
        .collect();
    let items = serde_json::to_string(&items).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    diesel::update(
        carts::table
            .filter(carts::tenant_id.eq(tenant_id))
            .filter(carts::id.eq(&cart.id)),
    )
    .set((
        carts::session_id.eq(random_id("erased_", 20)),
        carts::external_id.eq(None::<String>),
        carts::customer_email.eq(None::<String>),
        carts::customer_name.eq(None::<String>),
        carts::attributes.eq("{}"),
        carts::items.eq(items),
        carts::next_action_at.eq(None::<NaiveDateTime>),
        carts::deleted_at.eq(Some(cart.deleted_at.unwrap_or(stamp))),
        carts::erased_at.eq(Some(cart.erased_at.unwrap_or(stamp))),
        carts::updated_at.eq(stamp),
        carts::version.eq(carts::version + 1),
    ))
    .execute(conn)?;
    cancel_waiting_sends(conn, tenant_id, &cart.id, now)?;
    // The shop's profile id and its link for the cart name the shopper too.
    diesel::delete(
        cart_shop_fields::table
            .filter(cart_shop_fields::tenant_id.eq(tenant_id))
            .filter(cart_shop_fields::cart_id.eq(&cart.id)),
    )
    .execute(conn)?;
    let deliveries = erase_cart_traces(conn, tenant_id, &cart.id, now)?;
    if let Some(email) = &cart.customer_email {
        // Still never emailed, but the list no longer shows who.
        hash_suppression(conn, tenant_id, email, false, now)?;
    }
    Ok(Some(deliveries))
}

/// Changes a visible cart's lines atomically: `edit` gets the cart as it is
/// under the row lock and returns its new lines and total (or refuses), so
/// concurrent edits of different lines all stay and a removed line never comes
/// back. `expected_version` is the client's `If-Match`, if it sent one.
pub fn edit_items<E>(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
    expected_version: Option<i64>,
    now: DateTime<Utc>,
    edit: impl FnOnce(&CartRow) -> Result<(Vec<CartItem>, i64), E>,
) -> StoreResult<Edited<E>> {
    write_transaction(conn, |conn| {
        let Some(cart) = lock_cart_by_any_id(conn, tenant_id, id, false)? else {
            return Ok(Edited::NotFound);
        };
        if stale(&cart, expected_version) {
            return Ok(Edited::Stale {
                version: cart.version,
            });
        }
        let (items, total_minor) = match edit(&cart) {
            Ok(change) => change,
            Err(refusal) => return Ok(Edited::Refused(refusal)),
        };
        let text = serde_json::to_string(&items).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let count = i32::try_from(items.len()).unwrap_or(i32::MAX);
        diesel::update(
            carts::table
                .filter(carts::tenant_id.eq(tenant_id))
                .filter(carts::id.eq(&cart.id)),
        )
        .set((
            carts::items.eq(&text),
            carts::item_count.eq(count),
            carts::total_minor.eq(total_minor),
            carts::updated_at.eq(now.naive_utc()),
            carts::version.eq(carts::version + 1),
        ))
        .execute(conn)?;
        Ok(Edited::Updated(Box::new(reread(
            conn, tenant_id, &cart.id,
        )?)))
    })
}

/// `PUT /api/v1/carts`: a cart keyed by the shop's own id.
#[derive(Debug, Clone)]
pub struct ExternalUpsert {
    pub external_id: String,
    /// The cart as a CART_UPDATE would give it; its `session_id` is used only when
    /// the cart is new.
    pub cart: CartUpsert,
    /// Attribute changes in the wire form (`[{name, <type>Value}]`, an entry
    /// without a value removes it), merged into the cart's current set inside
    /// the upsert's transaction, so parallel upserts of different names all
    /// stay. None: the attributes are kept.
    pub merge_attributes: Option<Vec<serde_json::Value>>,
    /// What else the shop says about the cart (the Reloadify-shaped API);
    /// the default changes nothing more.
    pub shop: ShopFields,
}

/// A cart's fields only the shop's own-id upsert sets. None keeps what the
/// cart has (a new cart: nothing, or what the upsert gives it).
#[derive(Debug, Clone, Default)]
pub struct ShopFields {
    pub profile_id: Option<String>,
    pub recovery_url: Option<String>,
    pub recovery_token: Option<String>,
    /// The cart's creation time, for carts the shop backfills.
    pub created_at: Option<DateTime<Utc>>,
    /// The cart's last change by the shopper: also its last activity, so the
    /// worker schedules (or expires) a backfilled cart by its real age.
    pub updated_at: Option<DateTime<Utc>>,
    /// True hides the cart (a soft delete: emails stop, the shop still sees
    /// it with `deleted`); false shows it again. None: an upsert shows it.
    pub deleted: Option<bool>,
    /// An existing cart keeps its lines (the shop sent no list of them).
    pub keep_items: bool,
    /// An existing cart keeps its total and currency (the shop sent no price).
    pub keep_total: bool,
    /// The attribute changes are the whole new set, not merged into the old.
    pub replace_attributes: bool,
}

/// How an upsert by the shop's id went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalOutcome {
    /// Stored; `created` when no cart had this shop id before.
    Saved { cart: Box<CartRow>, created: bool },
    /// An attribute change is invalid (`attributes[2]`, or `attributes` for
    /// too many): nothing was written.
    Invalid { field: String, message: String },
}

/// Why [`upsert_external`]'s transaction rolls back.
enum Abort {
    Store(StoreError),
    Invalid { field: String, message: String },
}

impl From<diesel::result::Error> for Abort {
    fn from(error: diesel::result::Error) -> Abort {
        Abort::Store(error.into())
    }
}

impl From<StoreError> for Abort {
    fn from(error: StoreError) -> Abort {
        Abort::Store(error)
    }
}

/// Writes [`ShopFields`] on the row `upsert_external` just stored.
fn apply_shop_fields(
    conn: &mut DbConn,
    row: &CartRow,
    shop: &ShopFields,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let target = carts::table
        .filter(carts::tenant_id.eq(&row.tenant_id))
        .filter(carts::id.eq(&row.id));
    let own = (&shop.profile_id, &shop.recovery_url, &shop.recovery_token);
    if own.0.is_some() || own.1.is_some() || own.2.is_some() {
        let mut fields = shop_fields_of(conn, &row.tenant_id, &[row.id.as_str()])?
            .remove(&row.id)
            .unwrap_or_else(|| ShopCartFields {
                cart_id: row.id.clone(),
                ..ShopCartFields::default()
            });
        let existed = fields
            != ShopCartFields {
                cart_id: row.id.clone(),
                ..ShopCartFields::default()
            };
        if let Some(profile_id) = own.0 {
            fields.profile_id = Some(profile_id.clone());
        }
        if let Some(url) = own.1 {
            fields.recovery_url = Some(url.clone());
        }
        if let Some(token) = own.2 {
            fields.recovery_token = Some(token.clone());
        }
        let mine = cart_shop_fields::table
            .filter(cart_shop_fields::tenant_id.eq(&row.tenant_id))
            .filter(cart_shop_fields::cart_id.eq(&row.id));
        // The row lock of the cart is held (the upsert wrote it): no other
        // writer of this cart's fields can slip in between.
        if existed {
            diesel::update(mine)
                .set((
                    cart_shop_fields::profile_id.eq(&fields.profile_id),
                    cart_shop_fields::recovery_url.eq(&fields.recovery_url),
                    cart_shop_fields::recovery_token.eq(&fields.recovery_token),
                ))
                .execute(conn)?;
        } else {
            diesel::insert_into(cart_shop_fields::table)
                .values((
                    cart_shop_fields::tenant_id.eq(&row.tenant_id),
                    cart_shop_fields::cart_id.eq(&row.id),
                    cart_shop_fields::profile_id.eq(&fields.profile_id),
                    cart_shop_fields::recovery_url.eq(&fields.recovery_url),
                    cart_shop_fields::recovery_token.eq(&fields.recovery_token),
                ))
                .execute(conn)?;
        }
    }
    if let Some(created_at) = shop.created_at {
        diesel::update(target)
            .set(carts::created_at.eq(created_at.naive_utc()))
            .execute(conn)?;
    }
    if let Some(updated_at) = shop.updated_at {
        // The worker looks at the cart when its abandonment delay has passed
        // since this time, as if the shop had reported it then; a worker
        // holding the cart keeps its lease time (it re-reads the cart).
        let delay = find_tenant(conn, &row.tenant_id)?
            .map(|tenant| tenant.recovery_policy())
            .transpose()?
            .unwrap_or_default()
            .abandon_delay();
        let due = cartback_domain::bounds::shift(updated_at, delay).naive_utc();
        diesel::update(target)
            .set((
                carts::updated_at.eq(updated_at.naive_utc()),
                carts::last_activity_at.eq(updated_at.naive_utc()),
            ))
            .execute(conn)?;
        diesel::update(target.filter(carts::locked_by.is_null()))
            .set(carts::next_action_at.eq(Some(due)))
            .execute(conn)?;
    }
    if shop.deleted == Some(true) {
        diesel::update(target)
            .set((
                carts::deleted_at.eq(Some(now.naive_utc())),
                carts::next_action_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        cancel_waiting_sends(conn, &row.tenant_id, &row.id, now)?;
    }
    Ok(())
}

/// What a shop keeps about a cart through the Reloadify-shaped API, in a
/// table of its own beside the cart: its profile id for the shopper, and its
/// own recovery link and token for the cart (shown back as given; recovery
/// emails lead to that link). Erasing the cart removes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = cart_shop_fields)]
pub struct ShopCartFields {
    pub cart_id: String,
    pub profile_id: Option<String>,
    pub recovery_url: Option<String>,
    pub recovery_token: Option<String>,
}

/// The shop fields of the tenant's carts among `cart_ids`, by cart id (a cart
/// without any is absent).
pub fn shop_fields_of(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_ids: &[&str],
) -> StoreResult<std::collections::HashMap<String, ShopCartFields>> {
    if cart_ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let rows: Vec<ShopCartFields> = cart_shop_fields::table
        .filter(cart_shop_fields::tenant_id.eq(tenant_id))
        .filter(cart_shop_fields::cart_id.eq_any(cart_ids))
        .select(ShopCartFields::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(|f| (f.cart_id.clone(), f)).collect())
}

/// The tenant's cart with this shop id (`external_id`), soft-deleted ones
/// only when `include_deleted`; erased carts have none.
pub fn find_cart_by_external_id(
    conn: &mut DbConn,
    tenant_id: &str,
    external_id: &str,
    include_deleted: bool,
) -> StoreResult<Option<CartRow>> {
    let cart = carts::table
        .filter(carts::tenant_id.eq(tenant_id))
        .filter(carts::external_id.eq(external_id))
        .select(CartRow::as_select())
        .first(conn)
        .optional()?;
    Ok(cart.filter(|cart| include_deleted || cart.deleted_at.is_none()))
}

/// Creates or updates the cart with this shop id, exactly like a tracked
/// CART_UPDATE (it becomes active and is scheduled), then records the shop id and
/// merges the attribute changes, all in one transaction.
pub fn upsert_external(conn: &mut DbConn, upsert: &ExternalUpsert) -> StoreResult<ExternalOutcome> {
    let done = write_transaction(conn, |conn| -> Result<(CartRow, bool), Abort> {
        // Two requests for one new shop id must not both see "absent" and both
        // answer "created": the second waits here, then finds the first's row.
        crate::connection::lock_key(
            conn,
            &format!(
                "cart-external:{}:{}",
                upsert.cart.tenant_id, upsert.external_id
            ),
        )?;
        let existing = carts::table
            .filter(carts::tenant_id.eq(&upsert.cart.tenant_id))
            .filter(carts::external_id.eq(&upsert.external_id))
            .select(CartRow::as_select())
            .first(conn)
            .optional()?;
        let mut cart = upsert.cart.clone();
        if let Some(existing) = &existing {
            cart.session_id = existing.session_id.clone();
            if upsert.shop.keep_items {
                cart.items = existing.items.clone();
            }
            if upsert.shop.keep_total {
                cart.total_minor = existing.total_minor;
                cart.currency = existing.currency.clone();
                cart.subtotal_minor = existing.subtotal_minor;
            }
        }
        // The upsert's write holds the row until commit (PostgreSQL's row lock,
        // SQLite's write transaction): the attributes it returns are the latest,
        // and no other change can slip in before ours is written.
        let row = upsert_cart(conn, &cart)?;
        if row
            .external_id
            .as_deref()
            .is_some_and(|e| e != upsert.external_id)
        {
            return Err(StoreError::Rejected(format!(
                "session {} already belongs to the shop's cart {}",
                cart.session_id,
                row.external_id.as_deref().unwrap_or_default()
            ))
            .into());
        }
        let attributes = match &upsert.merge_attributes {
            Some(changes) => {
                // A session's cart the shop id is given to for the first time
                // starts from no attributes, as a new cart does.
                let mut attributes: Attributes =
                    if existing.is_some() && !upsert.shop.replace_attributes {
                        row.attributes.clone()
                    } else {
                        Attributes::new()
                    };
                apply_attributes(&mut attributes, changes).map_err(|(at, error)| {
                    Abort::Invalid {
                        field: at.map_or_else(
                            || "attributes".to_owned(),
                            |i| format!("attributes[{i}]"),
                        ),
                        message: error.to_string(),
                    }
                })?;
                serde_json::to_string(&attributes)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?
            }
            None => serde_json::to_string(&row.attributes)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        };
        diesel::update(
            carts::table
                .filter(carts::tenant_id.eq(&row.tenant_id))
                .filter(carts::id.eq(&row.id)),
        )
        .set((
            carts::external_id.eq(Some(&upsert.external_id)),
            carts::attributes.eq(&attributes),
            // A cart the shop sends again is visible again.
            carts::deleted_at.eq(None::<NaiveDateTime>),
            carts::version.eq(carts::version + 1),
        ))
        .execute(conn)?;
        apply_shop_fields(conn, &row, &upsert.shop, upsert.cart.now)?;
        Ok((reread(conn, &row.tenant_id, &row.id)?, existing.is_none()))
    });
    match done {
        Ok((cart, created)) => Ok(ExternalOutcome::Saved {
            cart: Box::new(cart),
            created,
        }),
        Err(Abort::Invalid { field, message }) => Ok(ExternalOutcome::Invalid { field, message }),
        Err(Abort::Store(error)) => Err(error),
    }
}
