//! `/api/v1/webhook-endpoints`: where a tenant's signed webhooks go, and what
//! became of each delivery. Secret key only; another tenant's endpoint or
//! delivery is a 404 like a missing one. Signing secrets are sealed with the
//! master key and shown only when created or rotated.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{TimeDelta, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use cartback_store::crypto::Purpose;
use cartback_store::view::time;
use cartback_store::webhooks::{
    AbandonedEvent, DeliveryRow, DeliveryStatus, EndpointChanges, EndpointRow, MAX_ENDPOINTS,
    NewEndpoint, Replay, WEBHOOK_EVENTS, create_endpoint_within_limit, delete_endpoint,
    get_delivery, get_endpoint, list_deliveries, list_endpoints, replay_delivery, rotate_secret,
    update_endpoint,
};
use cartback_webhooks::{TargetError, check_url, generate_secret};

use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode};
use crate::input::Problems;
use crate::input::body::object_body;
use crate::input::fields::{
    MAX_PAGE, boolean, integer, nullable, query_map, query_number, unknown_fields,
};
use crate::state::AppState;

const MAX_DESCRIPTION_CHARS: usize = 200;
const DEFAULT_OVERLAP_SECS: i64 = 86_400;
const MAX_OVERLAP_SECS: i64 = 7 * 86_400;
const DEFAULT_PER_PAGE: i64 = 20;
const MAX_PER_PAGE: i64 = 100;

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = WebhookEndpointView)]
pub(crate) struct EndpointView {
    id: String,
    url: String,
    events: Vec<String>,
    #[schema(required = true)]
    description: Option<String>,
    enabled: bool,
    /// Which abandoned carts `cart.abandoned` tells of: `all` of them, or only
    /// the `unemailable` ones (cartback has no usable address: none, or it
    /// bounced), Retake's meaning, for a receiver that sends its own email to
    /// those.
    #[schema(value_type = request::AbandonedEventScope)]
    abandoned_event: &'static str,
    #[schema(required = true)]
    disabled_reason: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    /// Only in the answers that create it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    secret: Option<String>,
}

fn endpoint_view(row: EndpointRow, secret: Option<String>) -> EndpointView {
    EndpointView {
        events: row.events.clone(),
        id: row.id,
        url: row.url,
        description: row.description,
        enabled: row.enabled != 0,
        abandoned_event: row.abandoned_event.as_str(),
        disabled_reason: row.disabled_reason,
        created_at: time(row.created_at),
        updated_at: time(row.updated_at),
        secret,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = WebhookDeliveryView)]
pub(crate) struct DeliveryView {
    id: String,
    event: String,
    /// `pending`, `succeeded`, `dead` or `cancelled`.
    status: String,
    attempts: i32,
    #[schema(required = true)]
    last_status_code: Option<i32>,
    #[schema(required = true)]
    last_error: Option<String>,
    #[schema(required = true, format = DateTime)]
    next_attempt_at: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    #[schema(required = true, format = DateTime)]
    delivered_at: Option<String>,
    /// Only when one delivery is asked for: the body exactly as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Value)]
    payload: Option<Value>,
}

fn delivery_view(row: DeliveryRow, with_payload: bool) -> DeliveryView {
    let payload = with_payload.then(|| {
        serde_json::from_str(&row.payload).unwrap_or_else(|_| Value::String(row.payload.clone()))
    });
    DeliveryView {
        id: row.id,
        event: row.event,
        status: row.status.as_str().to_owned(),
        attempts: row.attempts,
        last_status_code: row.last_status_code,
        last_error: row.last_error,
        next_attempt_at: row.next_attempt_at.map(time),
        created_at: time(row.created_at),
        updated_at: time(row.updated_at),
        delivered_at: row.delivered_at.map(time),
        payload,
    }
}

/// One endpoint: `success` beside its fields.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct WebhookEndpoint {
    success: bool,
    #[serde(flatten)]
    endpoint: EndpointView,
}

impl WebhookEndpoint {
    fn of(endpoint: EndpointView) -> WebhookEndpoint {
        WebhookEndpoint {
            success: true,
            endpoint,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct WebhookEndpointList {
    success: bool,
    /// Oldest first; never with secrets.
    data: Vec<EndpointView>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RotatedSecret {
    success: bool,
    /// Shown this once.
    secret: String,
    #[schema(required = true, format = DateTime)]
    previous_secret_expires_at: Option<String>,
}

/// One delivery: `success` beside its fields.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Delivery {
    success: bool,
    #[serde(flatten)]
    delivery: DeliveryView,
}

impl Delivery {
    fn of(delivery: DeliveryView) -> Delivery {
        Delivery {
            success: true,
            delivery,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeliveryPage {
    success: bool,
    /// Newest first, without payloads.
    data: Vec<DeliveryView>,
    page: i64,
    per_page: i64,
    total: i64,
    total_pages: i64,
}

fn no_endpoint() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such webhook endpoint")
}

fn no_master_key() -> ApiError {
    ApiError::new(
        ErrorCode::Conflict,
        "the server has no CARTBACK_MASTER_KEY, so it cannot store webhook signing secrets",
    )
}

/// A new signing secret and its sealed form.
fn new_secret(state: &AppState, tenant_id: &str) -> Result<(String, String), ApiError> {
    if !state.master_keys.is_configured() {
        return Err(no_master_key());
    }
    let secret = generate_secret();
    let sealed = state
        .master_keys
        .seal(Purpose::WebhookSecret, tenant_id, secret.as_bytes())
        .map_err(ApiError::internal)?;
    Ok((secret, sealed))
}

fn check_target(url: &str, allow_private: bool, problems: &mut Problems) -> Option<String> {
    match check_url(url, allow_private) {
        Ok(normalised) => Some(normalised),
        Err(TargetError::Forbidden(host)) => {
            problems.add(
                "url",
                format!(
                    "{host} is a private, loopback or link-local address: such targets are refused \
                     unless the server runs with --allow-private-targets \
                     (CARTBACK_ALLOW_PRIVATE_TARGETS)"
                ),
            );
            None
        }
        Err(error) => {
            problems.add("url", error.to_string());
            None
        }
    }
}

fn url_field(
    body: &Map<String, Value>,
    required: bool,
    allow_private: bool,
    problems: &mut Problems,
) -> Option<String> {
    match body.get("url") {
        None | Some(Value::Null) => {
            if required {
                problems.add("url", "is required");
            } else if body.contains_key("url") {
                problems.add("url", "must be a URL, not null");
            }
            None
        }
        Some(Value::String(url)) => check_target(url, allow_private, problems),
        Some(_) => {
            problems.add("url", "must be a string");
            None
        }
    }
}

fn events_field(
    body: &Map<String, Value>,
    required: bool,
    problems: &mut Problems,
) -> Option<Vec<String>> {
    let list = match body.get("events") {
        None | Some(Value::Null) => {
            if required || body.contains_key("events") {
                problems.add("events", "is required: a list of event names, or [\"*\"]");
            }
            return None;
        }
        Some(Value::Array(list)) => list,
        Some(_) => {
            problems.add("events", "must be a list of event names");
            return None;
        }
    };
    if list.is_empty() {
        problems.add("events", "must name at least one event, or \"*\" for all");
        return None;
    }
    let before = problems.len();
    let mut names: Vec<String> = Vec::with_capacity(list.len());
    for (i, value) in list.iter().enumerate() {
        let path = format!("events[{i}]");
        let Some(name) = value.as_str() else {
            problems.add(path, "must be a string");
            continue;
        };
        if name != "*" && !WEBHOOK_EVENTS.contains(&name) {
            let shown: String = name.chars().take(40).collect();
            problems.add(
                path,
                format!(
                    "unknown event {shown:?}; expected \"*\" or one of {}",
                    WEBHOOK_EVENTS.join(", ")
                ),
            );
        } else if names.iter().any(|n| n == name) {
            problems.add(path, format!("{name:?} is listed twice"));
        } else {
            names.push(name.to_owned());
        }
    }
    (problems.len() == before).then_some(names)
}

/// `abandonedEvent`: `all` or `unemailable`; None when absent or wrong. A
/// new endpoint may give `null` for the default; a change may not (a merge
/// patch's `null` would mean "remove", and the field always has a value).
fn abandoned_event_field(
    body: &Map<String, Value>,
    null_is_default: bool,
    problems: &mut Problems,
) -> Option<AbandonedEvent> {
    let value = body.get("abandonedEvent")?;
    if value.is_null() && null_is_default {
        return None;
    }
    let parsed = value.as_str().and_then(AbandonedEvent::parse);
    if parsed.is_none() {
        problems.add("abandonedEvent", "must be \"all\" or \"unemailable\"");
    }
    parsed
}

/// `Some(None)` clears; blank text clears too.
fn description_field(body: &Map<String, Value>, problems: &mut Problems) -> Option<Option<String>> {
    match nullable(body, "description")? {
        None => Some(None),
        Some(Value::String(text)) => {
            let text = text.trim();
            if text.chars().count() > MAX_DESCRIPTION_CHARS {
                problems.add(
                    "description",
                    format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
                );
                None
            } else if text.chars().any(char::is_control) {
                problems.add("description", "must not contain control characters");
                None
            } else {
                Some((!text.is_empty()).then(|| text.to_owned()))
            }
        }
        Some(_) => {
            problems.add("description", "must be a string or null");
            None
        }
    }
}

/// `POST /api/v1/webhook-endpoints` → 201 with the secret, shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/webhook-endpoints",
    tag = "webhook endpoints",
    operation_id = "createWebhookEndpoint",
    summary = "Add an endpoint; its signing secret is shown this once",
    request_body = request::NewWebhookEndpoint,
    responses(
        (status = 201, description = "The endpoint with `secret`", body = WebhookEndpoint),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 409, description = "CONFLICT: already 20 endpoints, or the server has no CARTBACK_MASTER_KEY", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = object_body(&state, &request, payload, false).await?;
    let mut problems = Problems::default();
    unknown_fields(
        &body,
        &["url", "events", "description", "enabled", "abandonedEvent"],
        &mut problems,
    );
    let url = url_field(&body, true, state.allow_private_targets, &mut problems);
    let events = events_field(&body, true, &mut problems);
    let description = description_field(&body, &mut problems).flatten();
    let enabled = boolean(&body, "enabled", &mut problems).unwrap_or(true);
    let abandoned_event = abandoned_event_field(&body, true, &mut problems).unwrap_or_default();
    let (Some(url), Some(events), true) = (url, events, problems.is_empty()) else {
        return Err(ApiError::validation(problems.0));
    };
    let tenant_id = caller.tenant.id.clone();
    let (secret, sealed) = new_secret(&state, &tenant_id)?;
    let created = state
        .db(move |conn| {
            create_endpoint_within_limit(
                conn,
                &NewEndpoint {
                    tenant_id: &tenant_id,
                    url: &url,
                    description: description.as_deref(),
                    events: &events,
                    sealed_secret: &sealed,
                    enabled,
                    abandoned_event,
                    now: Utc::now(),
                },
            )
        })
        .await?;
    let row = created.ok_or_else(|| {
        ApiError::new(
            ErrorCode::Conflict,
            format!(
                "a tenant may have at most {MAX_ENDPOINTS} webhook endpoints: delete one first"
            ),
        )
    })?;
    Ok(HttpResponse::Created().json(WebhookEndpoint::of(endpoint_view(row, Some(secret)))))
}

/// `GET /api/v1/webhook-endpoints`, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/webhook-endpoints",
    tag = "webhook endpoints",
    operation_id = "listWebhookEndpoints",
    summary = "Every endpoint of the tenant, oldest first",
    responses(
        (status = 200, description = "The endpoints, without secrets", body = WebhookEndpointList),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
) -> Result<HttpResponse, ApiError> {
    let rows = state
        .db(move |conn| list_endpoints(conn, &caller.tenant.id))
        .await?;
    Ok(HttpResponse::Ok().json(WebhookEndpointList {
        success: true,
        data: rows
            .into_iter()
            .map(|row| endpoint_view(row, None))
            .collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/webhook-endpoints/{id}",
    tag = "webhook endpoints",
    operation_id = "getWebhookEndpoint",
    summary = "One endpoint",
    params(("id" = String, Path, description = "The endpoint id (`we_…`)")),
    responses(
        (status = 200, description = "The endpoint", body = WebhookEndpoint),
        (status = 404, description = "NOT_FOUND: no such endpoint for this tenant", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = state
        .db(move |conn| get_endpoint(conn, &caller.tenant.id, &id))
        .await?
        .ok_or_else(no_endpoint)?;
    Ok(HttpResponse::Ok().json(WebhookEndpoint::of(endpoint_view(row, None))))
}

/// `PATCH /api/v1/webhook-endpoints/{id}`: url, events, description (null
/// clears) and enabled, each optional. Disabling cancels pending deliveries.
#[utoipa::path(
    patch,
    path = "/api/v1/webhook-endpoints/{id}",
    tag = "webhook endpoints",
    operation_id = "updateWebhookEndpoint",
    summary = "Change an endpoint's URL, events, description or enabled state",
    description = "A JSON Merge Patch: a field left out stays, `events` is replaced whole, \
        `null` clears `description`. `Content-Type: application/merge-patch+json` or \
        `application/json`. See docs/api.md, \"Changing settings\".",
    params(("id" = String, Path, description = "The endpoint id (`we_…`)")),
    request_body(content((request::WebhookEndpointChanges = "application/merge-patch+json"))),
    responses(
        (status = 200, description = "The endpoint", body = WebhookEndpoint),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 404, description = "NOT_FOUND: no such endpoint for this tenant", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = object_body(&state, &request, payload, false).await?;
    let mut problems = Problems::default();
    unknown_fields(
        &body,
        &["url", "events", "description", "enabled", "abandonedEvent"],
        &mut problems,
    );
    let changes = EndpointChanges {
        url: url_field(&body, false, state.allow_private_targets, &mut problems),
        description: description_field(&body, &mut problems),
        events: events_field(&body, false, &mut problems),
        enabled: boolean(&body, "enabled", &mut problems),
        abandoned_event: abandoned_event_field(&body, false, &mut problems),
    };
    problems.check()?;
    let id = id.into_inner();
    let row = state
        .db(move |conn| update_endpoint(conn, &caller.tenant.id, &id, &changes, Utc::now()))
        .await?
        .ok_or_else(no_endpoint)?;
    Ok(HttpResponse::Ok().json(WebhookEndpoint::of(endpoint_view(row, None))))
}

/// `DELETE /api/v1/webhook-endpoints/{id}` → 204; its deliveries go with it.
#[utoipa::path(
    delete,
    path = "/api/v1/webhook-endpoints/{id}",
    tag = "webhook endpoints",
    operation_id = "deleteWebhookEndpoint",
    summary = "Remove an endpoint and its deliveries",
    params(("id" = String, Path, description = "The endpoint id (`we_…`)")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "NOT_FOUND: no such endpoint for this tenant", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let removed = state
        .db(move |conn| delete_endpoint(conn, &caller.tenant.id, &id))
        .await?;
    if !removed {
        return Err(no_endpoint());
    }
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/webhook-endpoints/{id}/rotate-secret` `{"overlapSeconds"?}`:
/// a new secret signs from now on; the old one signs too until the overlap
/// ends, so receivers can switch without dropping a delivery.
#[utoipa::path(
    post,
    path = "/api/v1/webhook-endpoints/{id}/rotate-secret",
    tag = "webhook endpoints",
    operation_id = "rotateWebhookSecret",
    summary = "A new signing secret; the old one keeps signing for the overlap",
    params(("id" = String, Path, description = "The endpoint id (`we_…`)")),
    request_body(content = Option<request::RotateSecretRequest>, description = "Optional"),
    responses(
        (status = 200, description = "The new secret, shown this once", body = RotatedSecret),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 404, description = "NOT_FOUND: no such endpoint for this tenant", body = crate::error::ErrorEnvelope),
        (status = 409, description = "CONFLICT: the server has no CARTBACK_MASTER_KEY", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn rotate(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = object_body(&state, &request, payload, true).await?;
    let mut problems = Problems::default();
    unknown_fields(&body, &["overlapSeconds"], &mut problems);
    let overlap = integer(&body, "overlapSeconds", 0..=MAX_OVERLAP_SECS, &mut problems)
        .unwrap_or(DEFAULT_OVERLAP_SECS);
    problems.check()?;
    let tenant_id = caller.tenant.id.clone();
    let (secret, sealed) = new_secret(&state, &tenant_id)?;
    let id = id.into_inner();
    let now = Utc::now();
    let row = state
        .db(move |conn| {
            rotate_secret(
                conn,
                &tenant_id,
                &id,
                &sealed,
                now + TimeDelta::seconds(overlap),
                now,
            )
        })
        .await?
        .ok_or_else(no_endpoint)?;
    Ok(HttpResponse::Ok().json(RotatedSecret {
        success: true,
        secret,
        previous_secret_expires_at: row.previous_secret_expires_at.map(time),
    }))
}

/// `GET /api/v1/webhook-endpoints/{id}/deliveries?status=&page=&per_page=`,
/// newest first.
#[utoipa::path(
    get,
    path = "/api/v1/webhook-endpoints/{id}/deliveries",
    tag = "webhook endpoints",
    operation_id = "listWebhookDeliveries",
    summary = "An endpoint's deliveries, newest first",
    params(("id" = String, Path, description = "The endpoint id (`we_…`)"), request::DeliveryQuery),
    responses(
        (status = 200, description = "A page", body = DeliveryPage),
        (status = 404, description = "NOT_FOUND: no such endpoint for this tenant", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: a bad parameter, named in `details`", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn deliveries(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Problems::default();
    let query = query_map(request.query_string(), &mut problems);
    let status = query.get("status").and_then(|text| {
        DeliveryStatus::parse(text).or_else(|| {
            problems.add("status", "must be pending, succeeded, dead or cancelled");
            None
        })
    });
    let page = query_number(&query, "page", 1, 1..=MAX_PAGE, &mut problems);
    let per_page = query_number(
        &query,
        "per_page",
        DEFAULT_PER_PAGE,
        1..=MAX_PER_PAGE,
        &mut problems,
    );
    problems.check()?;
    let endpoint_id = id.into_inner();
    let found = state
        .db(move |conn| -> cartback_store::StoreResult<_> {
            if get_endpoint(conn, &caller.tenant.id, &endpoint_id)?.is_none() {
                return Ok(None);
            }
            list_deliveries(
                conn,
                &caller.tenant.id,
                &endpoint_id,
                status,
                page,
                per_page,
            )
            .map(Some)
        })
        .await?;
    let (rows, total) = found.ok_or_else(no_endpoint)?;
    Ok(HttpResponse::Ok().json(DeliveryPage {
        success: true,
        data: rows.into_iter().map(|r| delivery_view(r, false)).collect(),
        page,
        per_page,
        total,
        total_pages: (total + per_page - 1) / per_page,
    }))
}

fn no_delivery() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such delivery")
}

/// `GET …/deliveries/{deliveryId}`: the delivery with the payload it carries.
#[utoipa::path(
    get,
    path = "/api/v1/webhook-endpoints/{id}/deliveries/{delivery_id}",
    tag = "webhook endpoints",
    operation_id = "getWebhookDelivery",
    summary = "One delivery, with the payload it carries",
    params(("id" = String, Path, description = "The endpoint id (`we_…`)"), ("delivery_id" = String, Path, description = "The delivery id (`msg_…`), also its `webhook-id` header")),
    responses(
        (status = 200, description = "The delivery", body = Delivery),
        (status = 404, description = "NOT_FOUND: no such endpoint or delivery for this tenant", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn delivery(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (endpoint_id, delivery_id) = path.into_inner();
    let row = state
        .db(move |conn| get_delivery(conn, &caller.tenant.id, &endpoint_id, &delivery_id))
        .await?
        .ok_or_else(no_delivery)?;
    Ok(HttpResponse::Ok().json(Delivery::of(delivery_view(row, true))))
}

/// `POST …/deliveries/{deliveryId}/replay` → 202: one more attempt, now, with
/// the same webhook-id so receivers can de-duplicate.
#[utoipa::path(
    post,
    path = "/api/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/replay",
    tag = "webhook endpoints",
    operation_id = "replayWebhookDelivery",
    summary = "One more attempt of a finished delivery, due now",
    params(("id" = String, Path, description = "The endpoint id (`we_…`)"), ("delivery_id" = String, Path, description = "The delivery id (`msg_…`), also its `webhook-id` header")),
    responses(
        (status = 202, description = "Queued: the delivery, now pending", body = Delivery),
        (status = 404, description = "NOT_FOUND: no such endpoint or delivery for this tenant", body = crate::error::ErrorEnvelope),
        (status = 409, description = "CONFLICT: the endpoint is disabled, or the delivery is still pending", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn replay(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (endpoint_id, delivery_id) = path.into_inner();
    let outcome = state
        .db(move |conn| {
            replay_delivery(
                conn,
                &caller.tenant.id,
                &endpoint_id,
                &delivery_id,
                Utc::now(),
            )
        })
        .await?;
    match outcome {
        Replay::Queued(row) => {
            Ok(HttpResponse::Accepted().json(Delivery::of(delivery_view(*row, false))))
        }
        Replay::NotFound => Err(no_delivery()),
        Replay::EndpointDisabled => Err(ApiError::new(
            ErrorCode::Conflict,
            "the endpoint is disabled: enable the endpoint first (PATCH {\"enabled\": true})",
        )),
        Replay::AlreadyPending => Err(ApiError::new(
            ErrorCode::Conflict,
            "the delivery is still pending: it will be attempted without a replay",
        )),
    }
}

/// The requests of these routes as the OpenAPI document shows them. Nothing
/// builds these types: the handlers read requests field by field
/// ([`crate::input`]), and schemathesis holds the document and the handlers
/// together.
#[expect(
    dead_code,
    reason = "schema-only types: the document describes them, nothing builds them"
)]
pub(crate) mod request {
    use serde::Serialize;
    use utoipa::{IntoParams, ToSchema};

    /// What an endpoint subscribes to: one event, or `*` for all.
    #[derive(Serialize, ToSchema)]
    pub enum WebhookEventName {
        #[serde(rename = "*")]
        All,
        #[serde(rename = "cart.abandoned")]
        CartAbandoned,
        #[serde(rename = "cart.recovered")]
        CartRecovered,
        #[serde(rename = "cart.converted")]
        CartConverted,
        #[serde(rename = "cart.unsubscribed")]
        CartUnsubscribed,
        #[serde(rename = "cart.expired")]
        CartExpired,
        #[serde(rename = "email.sent")]
        EmailSent,
        #[serde(rename = "email.failed")]
        EmailFailed,
        #[serde(rename = "email.clicked")]
        EmailClicked,
    }

    /// `url` and `events` required; unknown fields are a 422.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct NewWebhookEndpoint {
        /// http(s), public unless the server allows private targets.
        #[schema(
            max_length = 2048,
            pattern = "^https?://([A-Za-z0-9-]+\\.)*[A-Za-z][A-Za-z0-9-]*(:[0-9]{1,4})?(/[^\\s\\u0000-\\u001F\\u007F-\\u009F]*)?$"
        )]
        pub url: String,
        /// Each at most once.
        #[schema(min_items = 1)]
        pub events: std::collections::BTreeSet<WebhookEventName>,
        #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
        pub description: Option<String>,
        /// Default true.
        pub enabled: Option<bool>,
        /// Default `all` (also when null).
        #[serde(rename = "abandonedEvent")]
        pub abandoned_event: Option<AbandonedEventScope>,
    }

    /// Which abandoned carts `cart.abandoned` tells an endpoint of: `all`
    /// (the default), or only those cartback cannot email for want of a usable
    /// address (`unemailable`: none, or it bounced), Retake's meaning
    /// (docs/webhooks.md).
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum AbandonedEventScope {
        All,
        Unemailable,
    }

    /// Any of the fields; what is left out stays.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct WebhookEndpointChanges {
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = String, max_length = 2048, pattern = "^https?://([A-Za-z0-9-]+\\.)*[A-Za-z][A-Za-z0-9-]*(:[0-9]{1,4})?(/[^\\s\\u0000-\\u001F\\u007F-\\u009F]*)?$")]
        pub url: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        /// Each at most once.
        #[schema(min_items = 1, nullable = false)]
        pub events: Option<std::collections::BTreeSet<WebhookEventName>>,
        /// Null or `""` removes it.
        #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
        pub description: Option<String>,
        /// False stops deliveries and cancels pending ones.
        pub enabled: Option<bool>,
        #[serde(rename = "abandonedEvent", skip_serializing_if = "Option::is_none")]
        #[schema(nullable = false)]
        pub abandoned_event: Option<AbandonedEventScope>,
    }

    /// Optional body.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct RotateSecretRequest {
        /// How long the previous secret keeps signing; default 86400.
        #[schema(minimum = 0, maximum = 604_800)]
        pub overlap_seconds: Option<i64>,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum DeliveryStatus {
        Pending,
        Succeeded,
        Dead,
        Cancelled,
    }

    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct DeliveryQuery {
        #[param(inline)]
        pub status: Option<DeliveryStatus>,
        #[param(minimum = 1, maximum = 1_000_000)]
        pub page: Option<i64>,
        #[param(minimum = 1, maximum = 100)]
        pub per_page: Option<i64>,
    }
}
