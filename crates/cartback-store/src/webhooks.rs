//! Outgoing webhooks: a tenant's endpoints and the deliveries to them.
//!
//! Deliveries are an outbox: they are written in the same transaction as the change
//! they tell of (a cart's history event, an order), so an event is never announced
//! without having happened, nor lost after it happened. The worker claims due
//! deliveries through the `next_attempt_at` index with a lease, exactly like carts.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use cartback_domain::{RecoveryPolicy, SendContext, left_to_the_shop, unreachable_reason};

use crate::carts::CartRow;
use crate::columns::{Json, Stored, json_text, text_enum};
use crate::connection::DbConn;
use crate::error::StoreResult;
use crate::ids::{random_id, time_ordered_id};
use crate::schema::{carts, webhook_deliveries, webhook_endpoints};
use crate::sql::dialect;
use crate::suppressions::{SuppressionReason, suppression_of};
use crate::tenants::find_tenant;
use crate::view::{WebhookEvent, webhook_payload};

/// Every event an endpoint can subscribe to.
pub const WEBHOOK_EVENTS: &[&str] = &[
    "cart.abandoned",
    "cart.recovered",
    "cart.converted",
    "cart.unsubscribed",
    "cart.expired",
    "email.sent",
    "email.failed",
    "email.clicked",
];

/// Which abandoned carts an endpoint hears of through `cart.abandoned`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AbandonedEvent {
    /// Every cart the worker finds abandoned (cartback's own meaning).
    #[default]
    All,
    /// Only carts cartback cannot email itself and whose shopper the shop
    /// may email instead (Retake's meaning: the receiver sends its own email,
    /// so no shopper gets two): [`cartback_domain::left_to_the_shop`].
    Unemailable,
}

impl AbandonedEvent {
    pub const ALL: [AbandonedEvent; 2] = [AbandonedEvent::All, AbandonedEvent::Unemailable];

    pub fn as_str(self) -> &'static str {
        match self {
            AbandonedEvent::All => "all",
            AbandonedEvent::Unemailable => "unemailable",
        }
    }

    pub fn parse(text: &str) -> Option<AbandonedEvent> {
        AbandonedEvent::ALL.into_iter().find(|e| e.as_str() == text)
    }
}

text_enum!(
    AbandonedEvent,
    "webhook_endpoints.abandoned_event",
    AbandonedEvent::parse
);

#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointRow {
    pub id: String,
    pub tenant_id: String,
    pub url: String,
    pub description: Option<String>,
    /// The event names it receives (`*`: all).
    #[diesel(deserialize_as = Json<Vec<String>>)]
    pub events: Vec<String>,
    pub enabled: i32,
    /// Sealed with the master key.
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<NaiveDateTime>,
    pub disabled_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    #[diesel(deserialize_as = Stored<AbandonedEvent>)]
    pub abandoned_event: AbandonedEvent,
}

impl EndpointRow {
    pub fn wants(&self, event: &str) -> bool {
        self.events.iter().any(|n| n == event || n == "*")
    }

    /// The sealed secrets that sign right now, newest first.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) =
            (&self.previous_secret, self.previous_secret_expires_at)
            && until.and_utc() > now
        {
            secrets.push(previous);
        }
        secrets
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    /// Also the `webhook-id` header: the same on every attempt.
    pub id: String,
    pub tenant_id: String,
    pub endpoint_id: String,
    pub event: String,
    pub cart_id: Option<String>,
    pub payload: String,
    #[diesel(deserialize_as = Stored<DeliveryStatus>)]
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub locked_by: Option<String>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or in flight).
    Pending,
    Succeeded,
    /// Out of attempts; a replay tries again.
    Dead,
    /// Its endpoint was disabled before it went out.
    Cancelled,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Dead => "dead",
            DeliveryStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        Some(match s {
            "pending" => DeliveryStatus::Pending,
            "succeeded" => DeliveryStatus::Succeeded,
            "dead" => DeliveryStatus::Dead,
            "cancelled" => DeliveryStatus::Cancelled,
            _ => return None,
        })
    }
}

text_enum!(
    DeliveryStatus,
    "webhook_deliveries.status",
    DeliveryStatus::parse
);

pub struct NewEndpoint<'a> {
    pub tenant_id: &'a str,
    pub url: &'a str,
    pub description: Option<&'a str>,
    pub events: &'a [String],
    pub sealed_secret: &'a str,
    pub enabled: bool,
    pub abandoned_event: AbandonedEvent,
    pub now: DateTime<Utc>,
}

pub fn create_endpoint(conn: &mut DbConn, new: &NewEndpoint<'_>) -> StoreResult<EndpointRow> {
    let now = new.now.naive_utc();
    let row = EndpointRow {
        id: random_id("we_", 20),
        tenant_id: new.tenant_id.to_owned(),
        url: new.url.to_owned(),
        description: new.description.map(str::to_owned),
        events: new.events.to_vec(),
        enabled: i32::from(new.enabled),
        secret: new.sealed_secret.to_owned(),
        previous_secret: None,
        previous_secret_expires_at: None,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
        abandoned_event: new.abandoned_event,
    };
    diesel::insert_into(webhook_endpoints::table)
        .values((
            webhook_endpoints::id.eq(&row.id),
            webhook_endpoints::tenant_id.eq(&row.tenant_id),
            webhook_endpoints::url.eq(&row.url),
            webhook_endpoints::description.eq(&row.description),
            webhook_endpoints::events.eq(json_text(&row.events)?),
            webhook_endpoints::enabled.eq(row.enabled),
            webhook_endpoints::secret.eq(&row.secret),
            webhook_endpoints::abandoned_event.eq(row.abandoned_event.as_str()),
            webhook_endpoints::created_at.eq(now),
            webhook_endpoints::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(row)
}

/// Enough endpoints for any real setup; each costs a delivery row per event.
pub const MAX_ENDPOINTS: usize = 20;

/// [`create_endpoint`] unless the tenant already has [`MAX_ENDPOINTS`] (None).
/// Counting and inserting are one step per tenant, or parallel creations
/// would all count below the limit and all insert.
pub fn create_endpoint_within_limit(
    conn: &mut DbConn,
    new: &NewEndpoint<'_>,
) -> StoreResult<Option<EndpointRow>> {
    crate::write_transaction(conn, |conn| {
        crate::lock_key(conn, &format!("webhook-endpoints:{}", new.tenant_id))?;
        if list_endpoints(conn, new.tenant_id)?.len() >= MAX_ENDPOINTS {
            return Ok(None);
        }
        create_endpoint(conn, new).map(Some)
    })
}

pub fn list_endpoints(conn: &mut DbConn, tenant_id: &str) -> StoreResult<Vec<EndpointRow>> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::tenant_id.eq(tenant_id))
        .order((webhook_endpoints::created_at, webhook_endpoints::id))
        .select(EndpointRow::as_select())
        .load(conn)?)
}

pub fn get_endpoint(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
) -> StoreResult<Option<EndpointRow>> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::tenant_id.eq(tenant_id))
        .filter(webhook_endpoints::id.eq(id))
        .select(EndpointRow::as_select())
        .first(conn)
        .optional()?)
}

/// What a PATCH may change; None leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub description: Option<Option<String>>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub abandoned_event: Option<AbandonedEvent>,
}

pub fn update_endpoint(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
    changes: &EndpointChanges,
    now: DateTime<Utc>,
) -> StoreResult<Option<EndpointRow>> {
    crate::write_transaction(conn, |conn| {
        let Some(mut row) = get_endpoint(conn, tenant_id, id)? else {
            return Ok(None);
        };
        if let Some(url) = &changes.url {
            row.url = url.clone();
        }
        if let Some(description) = &changes.description {
            row.description = description.clone();
        }
        if let Some(events) = &changes.events {
            row.events = events.clone();
        }
        if let Some(abandoned_event) = changes.abandoned_event {
            row.abandoned_event = abandoned_event;
        }
        if let Some(enabled) = changes.enabled {
            row.enabled = i32::from(enabled);
            if enabled {
                row.disabled_reason = None;
            } else {
                row.disabled_reason = Some("disabled by the merchant".to_owned());
                cancel_pending(conn, tenant_id, id, now)?;
            }
        }
        row.updated_at = now.naive_utc();
        diesel::update(
            webhook_endpoints::table
                .filter(webhook_endpoints::tenant_id.eq(tenant_id))
                .filter(webhook_endpoints::id.eq(id)),
        )
        .set((
            webhook_endpoints::url.eq(&row.url),
            webhook_endpoints::description.eq(&row.description),
            webhook_endpoints::events.eq(json_text(&row.events)?),
            webhook_endpoints::enabled.eq(row.enabled),
            webhook_endpoints::disabled_reason.eq(&row.disabled_reason),
            webhook_endpoints::abandoned_event.eq(row.abandoned_event.as_str()),
            webhook_endpoints::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
        Ok(Some(row))
    })
}

pub fn delete_endpoint(conn: &mut DbConn, tenant_id: &str, id: &str) -> StoreResult<bool> {
    crate::write_transaction(conn, |conn| {
        diesel::delete(
            webhook_deliveries::table
                .filter(webhook_deliveries::tenant_id.eq(tenant_id))
                .filter(webhook_deliveries::endpoint_id.eq(id)),
        )
        .execute(conn)?;
        Ok(diesel::delete(
            webhook_endpoints::table
                .filter(webhook_endpoints::tenant_id.eq(tenant_id))
                .filter(webhook_endpoints::id.eq(id)),
        )
        .execute(conn)?
            > 0)
    })
}

/// Makes `new_sealed` the signing secret; the old one keeps signing too until
/// `overlap_until`, so receivers can switch without dropping a delivery.
pub fn rotate_secret(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
    new_sealed: &str,
    overlap_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<Option<EndpointRow>> {
    crate::write_transaction(conn, |conn| {
        let Some(mut row) = get_endpoint(conn, tenant_id, id)? else {
            return Ok(None);
        };
        row.previous_secret = Some(std::mem::replace(&mut row.secret, new_sealed.to_owned()));
        row.previous_secret_expires_at = (overlap_until > now).then_some(overlap_until.naive_utc());
        row.updated_at = now.naive_utc();
        diesel::update(
            webhook_endpoints::table
                .filter(webhook_endpoints::tenant_id.eq(tenant_id))
                .filter(webhook_endpoints::id.eq(id)),
        )
        .set((
            webhook_endpoints::secret.eq(&row.secret),
            webhook_endpoints::previous_secret.eq(&row.previous_secret),
            webhook_endpoints::previous_secret_expires_at.eq(row.previous_secret_expires_at),
            webhook_endpoints::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
        Ok(Some(row))
    })
}

fn cancel_pending(
    conn: &mut DbConn,
    tenant_id: &str,
    endpoint_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    Ok(diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::tenant_id.eq(tenant_id))
            .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str())),
    )
    .set((
        webhook_deliveries::status.eq(DeliveryStatus::Cancelled.as_str()),
        webhook_deliveries::next_attempt_at.eq(None::<NaiveDateTime>),
        webhook_deliveries::locked_by.eq(None::<String>),
        webhook_deliveries::updated_at.eq(now.naive_utc()),
    ))
    .execute(conn)?)
}

/// One page of an endpoint's deliveries, newest first, and how many there are.
pub fn list_deliveries(
    conn: &mut DbConn,
    tenant_id: &str,
    endpoint_id: &str,
    status: Option<DeliveryStatus>,
    page: i64,
    per_page: i64,
) -> StoreResult<(Vec<DeliveryRow>, i64)> {
    macro_rules! filtered {
        () => {{
            let mut query = webhook_deliveries::table
                .filter(webhook_deliveries::tenant_id.eq(tenant_id))
                .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
                .into_boxed();
            if let Some(status) = status {
                query = query.filter(webhook_deliveries::status.eq(status.as_str()));
            }
            query
        }};
    }
    let total: i64 = match conn {
        DbConn::Postgres(pg) => filtered!().count().get_result(pg)?,
        DbConn::Sqlite(sqlite) => filtered!().count().get_result(sqlite)?,
    };
    let offset = (page.max(1) - 1) * per_page;
    let rows = match conn {
        DbConn::Postgres(pg) => filtered!()
            .order((
                webhook_deliveries::created_at.desc(),
                webhook_deliveries::id.desc(),
            ))
            .limit(per_page)
            .offset(offset)
            .select(DeliveryRow::as_select())
            .load(pg)?,
        DbConn::Sqlite(sqlite) => filtered!()
            .order((
                webhook_deliveries::created_at.desc(),
                webhook_deliveries::id.desc(),
            ))
            .limit(per_page)
            .offset(offset)
            .select(DeliveryRow::as_select())
            .load(sqlite)?,
    };
    Ok((rows, total))
}

pub fn get_delivery(
    conn: &mut DbConn,
    tenant_id: &str,
    endpoint_id: &str,
    id: &str,
) -> StoreResult<Option<DeliveryRow>> {
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::tenant_id.eq(tenant_id))
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
        .filter(webhook_deliveries::id.eq(id))
        .select(DeliveryRow::as_select())
        .first(conn)
        .optional()?)
}

/// What a replay request found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    Queued(Box<DeliveryRow>),
    NotFound,
    /// The endpoint is disabled: enable it first.
    EndpointDisabled,
    /// The delivery is still waiting for an attempt.
    AlreadyPending,
}

/// Queues one more attempt of a finished delivery, now, with the same webhook-id.
pub fn replay_delivery(
    conn: &mut DbConn,
    tenant_id: &str,
    endpoint_id: &str,
    id: &str,
    now: DateTime<Utc>,
) -> StoreResult<Replay> {
    crate::write_transaction(conn, |conn| {
        let Some(endpoint) = get_endpoint(conn, tenant_id, endpoint_id)? else {
            return Ok(Replay::NotFound);
        };
        let Some(mut row) = get_delivery(conn, tenant_id, endpoint_id, id)? else {
            return Ok(Replay::NotFound);
        };
        if endpoint.enabled == 0 {
            return Ok(Replay::EndpointDisabled);
        }
        if row.status == DeliveryStatus::Pending {
            return Ok(Replay::AlreadyPending);
        }
        row.status = DeliveryStatus::Pending;
        row.next_attempt_at = Some(now.naive_utc());
        row.updated_at = now.naive_utc();
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::tenant_id.eq(tenant_id))
                .filter(webhook_deliveries::id.eq(id)),
        )
        .set((
            webhook_deliveries::status.eq(Stored(row.status)),
            webhook_deliveries::next_attempt_at.eq(row.next_attempt_at),
            webhook_deliveries::locked_by.eq(None::<String>),
            webhook_deliveries::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
        Ok(Replay::Queued(Box::new(row)))
    })
}

/// Something that happened to a cart, to announce to the endpoints that want it.
#[derive(Debug, Clone)]
pub struct HookEvent {
    pub tenant_id: String,
    pub cart_id: String,
    /// The event and its own fields, merged into `data` next to the cart's.
    pub event: WebhookEvent,
}

/// An enabled endpoint's id, tenant, events and `cart.abandoned` scope, as read.
type EndpointListening = (String, String, Json<Vec<String>>, Stored<AbandonedEvent>);

/// An enabled endpoint, as [`enqueue`] matches events to it.
#[derive(Debug, Clone, Copy)]
struct Listener<'a> {
    id: &'a str,
    events: &'a [String],
    abandoned: AbandonedEvent,
}

/// The ids of the carts of `cart.abandoned` events that endpoints hearing
/// only of unemailable carts are told of: carts cartback cannot email and
/// whose shopper the shop may email instead ([`left_to_the_shop`]), by the
/// worker's own rule ([`unreachable_reason`]) with the tenant's consent
/// policy and suppression list read now. Reads nothing when no such endpoint
/// is told of an abandoned cart.
fn carts_left_to_the_shop(
    conn: &mut DbConn,
    wanted: &[(&HookEvent, Vec<Listener<'_>>)],
    carts: &HashMap<String, CartRow>,
) -> StoreResult<HashSet<String>> {
    let mut left = HashSet::new();
    let mut policies: HashMap<String, RecoveryPolicy> = HashMap::new();
    for (event, targets) in wanted {
        let asks = matches!(event.event, WebhookEvent::CartAbandoned { .. })
            && targets
                .iter()
                .any(|l| l.abandoned == AbandonedEvent::Unemailable);
        let Some(cart) = carts.get(&event.cart_id).filter(|_| asks) else {
            continue;
        };
        if !policies.contains_key(&cart.tenant_id) {
            let policy = match find_tenant(conn, &cart.tenant_id)? {
                Some(tenant) => tenant.recovery_policy()?,
                None => RecoveryPolicy::default(),
            };
            policies.insert(cart.tenant_id.clone(), policy);
        }
        let listed = match &cart.customer_email {
            Some(email) => suppression_of(conn, &cart.tenant_id, email)?,
            None => None,
        };
        let context = SendContext {
            suppressed: listed.is_some(),
            ..cart.send_context()
        };
        let reason = unreachable_reason(&cart.facts()?, &context, &policies[&cart.tenant_id]);
        if left_to_the_shop(reason, listed == Some(SuppressionReason::Bounced)) {
            left.insert(cart.id.clone());
        }
    }
    Ok(left)
}

/// Writes one delivery per event and subscribed, enabled endpoint. Costs one
/// indexed read when the tenants have no endpoints; reads the carts only when
/// someone listens.
pub fn enqueue(conn: &mut DbConn, events: &[HookEvent], now: DateTime<Utc>) -> StoreResult<usize> {
    if events.is_empty() {
        return Ok(0);
    }
    let mut tenants: Vec<&str> = events.iter().map(|e| e.tenant_id.as_str()).collect();
    tenants.sort_unstable();
    tenants.dedup();
    let endpoints: Vec<EndpointListening> = webhook_endpoints::table
        .filter(webhook_endpoints::tenant_id.eq_any(&tenants))
        .filter(webhook_endpoints::enabled.eq(1))
        .select((
            webhook_endpoints::id,
            webhook_endpoints::tenant_id,
            webhook_endpoints::events,
            webhook_endpoints::abandoned_event,
        ))
        .load(conn)?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let mut by_tenant: HashMap<&str, Vec<Listener<'_>>> = HashMap::new();
    for (id, tenant_id, Json(names), Stored(abandoned)) in &endpoints {
        by_tenant
            .entry(tenant_id.as_str())
            .or_default()
            .push(Listener {
                id: id.as_str(),
                events: names.as_slice(),
                abandoned: *abandoned,
            });
    }
    let wanted: Vec<(&HookEvent, Vec<Listener<'_>>)> = events
        .iter()
        .filter_map(|event| {
            let targets: Vec<Listener<'_>> = by_tenant
                .get(event.tenant_id.as_str())?
                .iter()
                .filter(|l| l.events.iter().any(|n| n == event.event.name() || n == "*"))
                .copied()
                .collect();
            (!targets.is_empty()).then_some((event, targets))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(0);
    }
    let cart_ids: HashSet<&str> = wanted.iter().map(|(e, _)| e.cart_id.as_str()).collect();
    let cart_ids: Vec<&str> = cart_ids.into_iter().collect();
    let carts: HashMap<String, CartRow> = carts::table
        .filter(carts::tenant_id.eq_any(&tenants))
        .filter(carts::id.eq_any(&cart_ids))
        .select(CartRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    let left_to_shop = carts_left_to_the_shop(conn, &wanted, &carts)?;
    let stamp = now.naive_utc();
    let mut rows = Vec::new();
    for (event, targets) in wanted {
        let Some(cart) = carts.get(&event.cart_id) else {
            continue;
        };
        let payload = webhook_payload(&event.event, now, cart)?;
        let abandoned = matches!(event.event, WebhookEvent::CartAbandoned { .. });
        for Listener {
            id: endpoint_id,
            abandoned: scope,
            ..
        } in targets
        {
            // Retake's meaning: the receiver emails the carts cartback cannot.
            if abandoned && scope == AbandonedEvent::Unemailable && !left_to_shop.contains(&cart.id)
            {
                continue;
            }
            rows.push((
                webhook_deliveries::id.eq(time_ordered_id("msg_", 24)),
                webhook_deliveries::tenant_id.eq(event.tenant_id.clone()),
                webhook_deliveries::endpoint_id.eq(endpoint_id.to_owned()),
                webhook_deliveries::event.eq(event.event.name()),
                webhook_deliveries::cart_id.eq(Some(cart.id.clone())),
                webhook_deliveries::payload.eq(payload.clone()),
                webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
                webhook_deliveries::next_attempt_at.eq(Some(stamp)),
                webhook_deliveries::created_at.eq(stamp),
                webhook_deliveries::updated_at.eq(stamp),
            ));
        }
    }
    let count = rows.len();
    for chunk in rows.chunks(200) {
        match conn {
            DbConn::Postgres(pg) => {
                diesel::insert_into(webhook_deliveries::table)
                    .values(chunk)
                    .execute(pg)?;
            }
            DbConn::Sqlite(sqlite) => {
                diesel::insert_into(webhook_deliveries::table)
                    .values(chunk)
                    .execute(sqlite)?;
            }
        }
    }
    Ok(count)
}

/// A claimed delivery with what the worker needs to send it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub delivery: DeliveryRow,
    pub endpoint: EndpointRow,
}

const CLAIM_SQL: &str = "\
UPDATE webhook_deliveries SET locked_by = $1, next_attempt_at = $2, attempts = attempts + 1 \
WHERE id IN (SELECT id FROM webhook_deliveries WHERE next_attempt_at <= $3 \
    ORDER BY next_attempt_at LIMIT $4 {LOCK}) \
RETURNING *";

/// Takes a lease on up to `limit` due deliveries and counts the attempt.
pub fn claim_due_deliveries(
    conn: &mut DbConn,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<ClaimedDelivery>> {
    let lock = match conn {
        DbConn::Postgres(_) => "FOR UPDATE SKIP LOCKED",
        DbConn::Sqlite(_) => "",
    };
    let sql = dialect(conn, &CLAIM_SQL.replace("{LOCK}", lock));
    let deliveries = diesel::sql_query(sql)
        .bind::<Text, _>(worker)
        .bind::<Timestamp, _>(lease_until.naive_utc())
        .bind::<Timestamp, _>(now.naive_utc())
        .bind::<BigInt, _>(limit)
        .load::<DeliveryRow>(conn)?;
    let deliveries = park_unserved(conn, deliveries, worker)?;
    if deliveries.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = deliveries.iter().map(|d| d.endpoint_id.as_str()).collect();
    let endpoints: HashMap<String, EndpointRow> = webhook_endpoints::table
        .filter(webhook_endpoints::id.eq_any(&ids))
        .select(EndpointRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|e| (e.id.clone(), e))
        .collect();
    let mut claimed: Vec<ClaimedDelivery> = deliveries
        .into_iter()
        .filter_map(|delivery| {
            let endpoint = endpoints
                .get(&delivery.endpoint_id)
                .filter(|e| e.tenant_id == delivery.tenant_id)?
                .clone();
            Some(ClaimedDelivery { delivery, endpoint })
        })
        .collect();
    claimed.sort_by_key(|c| c.delivery.created_at);
    Ok(claimed)
}

/// Lets go of the claimed deliveries of suspended or closed tenants without
/// an attempt and with no next attempt time: nothing is sent for such a tenant
/// and its deliveries cost no claim until [`wake_parked_deliveries`] runs on
/// resume. Returns the others.
fn park_unserved(
    conn: &mut DbConn,
    deliveries: Vec<DeliveryRow>,
    worker: &str,
) -> StoreResult<Vec<DeliveryRow>> {
    if deliveries.is_empty() {
        return Ok(deliveries);
    }
    let tenant_ids: Vec<&str> = deliveries.iter().map(|d| d.tenant_id.as_str()).collect();
    let unserved = crate::tenants::unserved_among(conn, &tenant_ids)?;
    if unserved.is_empty() {
        return Ok(deliveries);
    }
    let (parked, kept): (Vec<DeliveryRow>, Vec<DeliveryRow>) = deliveries
        .into_iter()
        .partition(|d| unserved.contains(&d.tenant_id));
    let ids: Vec<&str> = parked.iter().map(|d| d.id.as_str()).collect();
    for chunk in ids.chunks(500) {
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::id.eq_any(chunk))
                .filter(webhook_deliveries::locked_by.eq(worker)),
        )
        .set((
            webhook_deliveries::next_attempt_at.eq(None::<NaiveDateTime>),
            webhook_deliveries::locked_by.eq(None::<String>),
            // The claim counted an attempt that is not made.
            webhook_deliveries::attempts.eq(webhook_deliveries::attempts - 1),
        ))
        .execute(conn)?;
    }
    Ok(kept)
}

/// Makes the tenant's parked pending deliveries due now (on resume).
pub fn wake_parked_deliveries(
    conn: &mut DbConn,
    tenant_id: &str,
    now: NaiveDateTime,
) -> StoreResult<usize> {
    Ok(diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::tenant_id.eq(tenant_id))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
            .filter(webhook_deliveries::next_attempt_at.is_null())
            .filter(webhook_deliveries::locked_by.is_null()),
    )
    .set(webhook_deliveries::next_attempt_at.eq(Some(now)))
    .execute(conn)?)
}

/// How one attempt ended, as the worker decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptResult {
    pub delivery_id: String,
    pub tenant_id: String,
    pub endpoint_id: String,
    pub status: DeliveryStatus,
    /// When to try again (only with `Pending`).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    /// Disable the endpoint with this reason (a 410 answer).
    pub disable_endpoint: Option<String>,
}

/// Records attempts, for deliveries `worker` still holds, in one transaction.
pub fn finish_attempts(
    conn: &mut DbConn,
    worker: &str,
    results: &[AttemptResult],
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let stamp = now.naive_utc();
    crate::write_transaction(conn, |conn| {
        let mut finished = 0;
        for result in results {
            let delivered_at = (result.status == DeliveryStatus::Succeeded).then_some(stamp);
            finished += diesel::update(
                webhook_deliveries::table
                    .filter(webhook_deliveries::tenant_id.eq(&result.tenant_id))
                    .filter(webhook_deliveries::id.eq(&result.delivery_id))
                    .filter(webhook_deliveries::locked_by.eq(worker)),
            )
            .set((
                webhook_deliveries::status.eq(result.status.as_str()),
                webhook_deliveries::next_attempt_at
                    .eq(result.next_attempt_at.map(|t| t.naive_utc())),
                webhook_deliveries::locked_by.eq(None::<String>),
                webhook_deliveries::last_status_code.eq(result.status_code.map(i32::from)),
                webhook_deliveries::last_error.eq(&result.error),
                webhook_deliveries::updated_at.eq(stamp),
                webhook_deliveries::delivered_at.eq(delivered_at),
            ))
            .execute(conn)?;
            if let Some(reason) = &result.disable_endpoint {
                diesel::update(
                    webhook_endpoints::table
                        .filter(webhook_endpoints::tenant_id.eq(&result.tenant_id))
                        .filter(webhook_endpoints::id.eq(&result.endpoint_id)),
                )
                .set((
                    webhook_endpoints::enabled.eq(0),
                    webhook_endpoints::disabled_reason.eq(reason),
                    webhook_endpoints::updated_at.eq(stamp),
                ))
                .execute(conn)?;
                cancel_pending(conn, &result.tenant_id, &result.endpoint_id, now)?;
            }
        }
        Ok(finished)
    })
}

/// Deliveries still waiting (for /metrics and the operating guide).
pub fn pending_count(conn: &mut DbConn) -> StoreResult<i64> {
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::next_attempt_at.is_not_null())
        .count()
        .get_result(conn)?)
}

/// Re-seals every endpoint secret (current and previous) and every Stripe
/// credential not yet under the current master key. Returns how many rows
/// changed; safe to run again.
pub fn reseal_secrets(conn: &mut DbConn, keys: &crate::crypto::MasterKeys) -> StoreResult<usize> {
    use crate::crypto::{CryptoError, Purpose};
    use crate::schema::stripe_accounts;
    keys.current_id().ok_or(CryptoError::NoKey)?;
    // Stale: under an older key, or in the first format (no purpose bound).
    let stale = |sealed: &Option<String>| sealed.as_deref().is_some_and(|s| !keys.is_current(s));
    let reseal =
        |purpose: Purpose, tenant: &str, sealed: &Option<String>| -> StoreResult<Option<String>> {
            match sealed {
                Some(s) if !keys.is_current(s) => Ok(Some(keys.seal(
                    purpose,
                    tenant,
                    &keys.open(purpose, tenant, s)?,
                )?)),
                other => Ok(other.clone()),
            }
        };
    crate::write_transaction(conn, |conn| {
        let mut changed = 0;
        let endpoints: Vec<EndpointRow> = webhook_endpoints::table
            .select(EndpointRow::as_select())
            .load(conn)?;
        for row in endpoints {
            let secret = Some(row.secret.clone());
            if !stale(&secret) && !stale(&row.previous_secret) {
                continue;
            }
            let secret =
                reseal(Purpose::WebhookSecret, &row.tenant_id, &secret)?.unwrap_or_default();
            let previous = reseal(Purpose::WebhookSecret, &row.tenant_id, &row.previous_secret)?;
            diesel::update(
                webhook_endpoints::table
                    .filter(webhook_endpoints::tenant_id.eq(&row.tenant_id))
                    .filter(webhook_endpoints::id.eq(&row.id)),
            )
            .set((
                webhook_endpoints::secret.eq(secret),
                webhook_endpoints::previous_secret.eq(previous),
            ))
            .execute(conn)?;
            changed += 1;
        }
        let accounts: Vec<(String, Option<String>, Option<String>)> = stripe_accounts::table
            .select((
                stripe_accounts::tenant_id,
                stripe_accounts::secret_key,
                stripe_accounts::webhook_secrets,
            ))
            .load(conn)?;
        for (tenant, key, hooks) in accounts {
            if !stale(&key) && !stale(&hooks) {
                continue;
            }
            diesel::update(stripe_accounts::table.filter(stripe_accounts::tenant_id.eq(&tenant)))
                .set((
                    stripe_accounts::secret_key.eq(reseal(
                        Purpose::StripeSecretKey,
                        &tenant,
                        &key,
                    )?),
                    stripe_accounts::webhook_secrets.eq(reseal(
                        Purpose::StripeWebhookSecret,
                        &tenant,
                        &hooks,
                    )?),
                ))
                .execute(conn)?;
            changed += 1;
        }
        Ok(changed)
    })
}
