//! API key authentication: `X-API-Key: <key>` (Retake's header) or
//! `Authorization: Bearer <key>`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use actix_web::web;

use cartback_store::api_keys::{KeyKind, authenticate};
use cartback_store::tenants::{Tenant, find_tenant};

use crate::error::ApiError;
use crate::state::AppState;

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: Tenant,
    pub kind: KeyKind,
}

/// The key in `X-API-Key` or `Authorization: Bearer`, trimmed; None when neither.
pub(crate) fn presented_key(request: &HttpRequest) -> Option<&str> {
    if let Some(value) = request.headers().get("x-api-key") {
        return value.to_str().ok().map(str::trim).filter(|k| !k.is_empty());
    }
    let value = request.headers().get("authorization")?.to_str().ok()?;
    let (scheme, key) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| key.trim())
        .filter(|k| !k.is_empty())
}

/// Recently resolved keys, so a busy storefront does not cost two queries per
/// event. A revoked key or a changed tenant takes effect within the TTL.
#[derive(Debug)]
pub struct AuthCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Option<Caller>, Instant)>>,
}

/// Enough for every key of a large deployment; beyond it the cache starts over.
const AUTH_CACHE_ENTRIES: usize = 10_000;

impl AuthCache {
    pub fn new(ttl: Duration) -> AuthCache {
        AuthCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key: &str) -> Option<Option<Caller>> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        let (caller, at) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| caller.clone())
    }

    fn put(&self, key: String, caller: Option<Caller>) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= AUTH_CACHE_ENTRIES {
                entries.clear();
            }
            entries.insert(key, (caller, Instant::now()));
        }
    }
}

/// Resolves the caller, or 401 with the error envelope.
pub async fn authenticate_request(
    state: &AppState,
    request: &HttpRequest,
) -> Result<Caller, ApiError> {
    let Some(key) = presented_key(request) else {
        return Err(ApiError::unauthorized());
    };
    authenticate_key(state, key).await
}

/// Resolves a key however it was presented (a header, or the query string of the
/// public capture endpoint), or 401 with the error envelope.
pub async fn authenticate_key(state: &AppState, key: &str) -> Result<Caller, ApiError> {
    // Keys are random base62 with a fixed prefix; anything else cannot match and
    // should not cost a database round trip.
    if key.len() > 128 || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(ApiError::unauthorized());
    }
    if let Some(cached) = state.auth_cache.get(key) {
        return cached.ok_or_else(ApiError::unauthorized);
    }
    let key = key.to_owned();
    let cache_key = key.clone();
    let store = state.store.clone();
    let found = web::block(
        move || -> Result<Option<Caller>, cartback_store::StoreError> {
            let mut conn = store.conn()?;
            let Some(api_key) = authenticate(&mut conn, &key)? else {
                return Ok(None);
            };
            let kind = api_key.kind()?;
            Ok(find_tenant(&mut conn, &api_key.tenant_id)?.map(|tenant| Caller { tenant, kind }))
        },
    )
    .await??;
    state.auth_cache.put(cache_key, found.clone());
    found.ok_or_else(ApiError::unauthorized)
}
