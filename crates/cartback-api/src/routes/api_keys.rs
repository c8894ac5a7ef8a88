//! `/api/v1/api-keys`: the tenant's own keys. List them (never their secret),
//! create a secret or publishable key (answered in full once), revoke one. The
//! last active secret key cannot be revoked, so a shop never locks itself out
//! of its own API; a revoked key is refused within the auth cache's TTL.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use cartback_domain::parse_key_label;
use cartback_store::api_keys::{
    ApiKey, KeyKind, RevokeRefusal, create_key, list_keys, revoke_own_key,
};

use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode};
use crate::input::Problems;
use crate::input::body::object_body;
use crate::input::fields::unknown_fields;
use crate::state::AppState;
use cartback_store::view::time;

/// What a key may do.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ApiKeyKind {
    /// `sk_…`: everything, from the shop's own servers.
    Secret,
    /// `pk_…`: only captures carts, safe in the storefront's pages.
    Publishable,
}

impl From<KeyKind> for ApiKeyKind {
    fn from(kind: KeyKind) -> ApiKeyKind {
        match kind {
            KeyKind::Secret => ApiKeyKind::Secret,
            KeyKind::Publishable => ApiKeyKind::Publishable,
        }
    }
}

impl From<ApiKeyKind> for KeyKind {
    fn from(kind: ApiKeyKind) -> KeyKind {
        match kind {
            ApiKeyKind::Secret => KeyKind::Secret,
            ApiKeyKind::Publishable => KeyKind::Publishable,
        }
    }
}

/// A key as listed: never its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiKeyView {
    pub id: String,
    /// The key's first characters (`sk_Ab12Cd3`), to recognise it.
    pub prefix: String,
    pub kind: ApiKeyKind,
    pub label: Option<String>,
    pub created_at: String,
    /// When the api last accepted it (to the minute); null: never.
    pub last_used_at: Option<String>,
    /// When it was revoked; null: it works.
    pub revoked_at: Option<String>,
}

impl From<ApiKey> for ApiKeyView {
    fn from(key: ApiKey) -> ApiKeyView {
        ApiKeyView {
            id: key.id,
            prefix: key.prefix,
            kind: key.kind.into(),
            label: key.label,
            created_at: time(key.created_at),
            last_used_at: key.last_used_at.map(time),
            revoked_at: key.revoked_at.map(time),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ApiKeyList {
    pub success: bool,
    /// Oldest first, revoked ones included.
    pub data: Vec<ApiKeyView>,
}

/// A new key, the only time its secret is shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiKeyCreated {
    pub success: bool,
    pub api_key: ApiKeyView,
    /// The whole key (`sk_…` or `pk_…`): store it now, it is not shown again.
    pub key: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiKeyRevoked {
    pub success: bool,
    pub api_key: ApiKeyView,
}

/// A key to create.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApiKeyRequest {
    pub kind: ApiKeyKind,
    /// What the key is for ("storefront", "ERP"); at most 100 characters.
    #[schema(schema_with = crate::input::shapes::key_label)]
    pub label: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/api-keys",
    tag = "api keys",
    operation_id = "listApiKeys",
    summary = "The tenant's API keys, without their secrets",
    responses(
        (status = 200, description = "Every key, oldest first", body = ApiKeyList),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
) -> Result<HttpResponse, ApiError> {
    let keys = state
        .db(move |conn| list_keys(conn, &caller.tenant.id))
        .await?;
    Ok(HttpResponse::Ok().json(ApiKeyList {
        success: true,
        data: keys.into_iter().map(ApiKeyView::from).collect(),
    }))
}

#[utoipa::path(
    post,
    path = "/api/v1/api-keys",
    tag = "api keys",
    operation_id = "createApiKey",
    summary = "Create a secret or publishable key, shown once",
    request_body = ApiKeyRequest,
    responses(
        (status = 201, description = "The key, in full this once", body = ApiKeyCreated),
        (status = 400, description = "BAD_REQUEST: the body is not a JSON object", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `kind` missing or not `secret`/`publishable`, a bad `label`, or an unknown field", body = crate::error::ErrorEnvelope),
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
    unknown_fields(&body, &["kind", "label"], &mut problems);
    // Each field on its own first, so one 422 names them all; then the body
    // reads as the documented type.
    match body.get("kind") {
        None | Some(Value::Null) => problems.add("kind", "is required: secret or publishable"),
        Some(value) => {
            if serde_json::from_value::<ApiKeyKind>(value.clone()).is_err() {
                problems.add("kind", "must be secret or publishable");
            }
        }
    }
    match body.get("label") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => {
            if let Err(error) = parse_key_label(text) {
                problems.add("label", error.message);
            }
        }
        Some(_) => problems.add("label", "must be a string or null"),
    }
    problems.check()?;
    let request: ApiKeyRequest =
        serde_json::from_value(Value::Object(body)).map_err(ApiError::internal)?;
    let kind = KeyKind::from(request.kind);
    let label = match request.label.as_deref().map(parse_key_label) {
        Some(Ok(label)) => label,
        _ => None,
    };
    let tenant_id = caller.tenant.id.clone();
    let created = state
        .db(move |conn| {
            create_key(
                conn,
                &tenant_id,
                kind,
                label.as_deref(),
                Utc::now().naive_utc(),
            )
        })
        .await?;
    tracing::info!(tenant = %caller.tenant.id, key = %created.key.id, kind = kind.as_str(), "api key created");
    Ok(HttpResponse::Created().json(ApiKeyCreated {
        success: true,
        api_key: created.key.into(),
        key: created.secret,
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/api-keys/{id}",
    tag = "api keys",
    operation_id = "revokeApiKey",
    summary = "Revoke a key",
    description = "The key is refused (401) within the server's auth cache TTL \
        (`CARTBACK_AUTH_CACHE_TTL`, 5 s by default). The last active secret key cannot be revoked.",
    params(("id" = String, Path, description = "The key's id (`key_…`)")),
    responses(
        (status = 200, description = "Revoked", body = ApiKeyRevoked),
        (status = 404, description = "NOT_FOUND: no such key of this tenant, or it is revoked already", body = crate::error::ErrorEnvelope),
        (status = 409, description = "CONFLICT: the tenant's last active secret key; create another first", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn revoke(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let tenant_id = caller.tenant.id.clone();
    let outcome = state
        .db(move |conn| revoke_own_key(conn, &tenant_id, &id, Utc::now().naive_utc()))
        .await?;
    match outcome {
        Ok(key) => {
            tracing::info!(tenant = %caller.tenant.id, key = %key.id, "api key revoked");
            Ok(HttpResponse::Ok().json(ApiKeyRevoked {
                success: true,
                api_key: key.into(),
            }))
        }
        Err(RevokeRefusal::NotFound) => Err(ApiError::new(
            ErrorCode::NotFound,
            "no active API key with this id",
        )),
        Err(RevokeRefusal::LastSecretKey) => Err(ApiError::new(
            ErrorCode::Conflict,
            "this is the shop's last active secret key: create another secret key first, so the shop is never locked out of its API",
        )),
    }
}
