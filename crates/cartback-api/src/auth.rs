//! API key authentication: `X-API-Key: <key>` (Retake's header) or
//! `Authorization: Bearer <key>`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use cartback_store::api_keys::{KeyKind, authenticate, record_key_use};
use cartback_store::tenants::{Tenant, find_tenant};

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: Tenant,
    pub kind: KeyKind,
}

/// A caller holding a secret key (`sk_…`): the merchant's own systems. As a
/// handler argument it answers 401 without a good key and 403 for a
/// publishable one, before the handler runs.
#[derive(Debug, Clone)]
pub struct SecretCaller(pub Caller);

/// A caller holding any of the tenant's keys, secret or publishable (401
/// otherwise); the handler decides what a publishable key may do.
#[derive(Debug, Clone)]
pub struct AnyCaller(pub Caller);

/// The app state a request was routed with.
fn app_state(request: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    request
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("the app state is not registered"))
}

impl FromRequest for AnyCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<AnyCaller, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let state = app_state(&request)?;
            authenticate_request(&state, &request).await.map(AnyCaller)
        })
    }
}

impl FromRequest for SecretCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<SecretCaller, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let state = app_state(&request)?;
            let caller = authenticate_request(&state, &request).await?;
            if caller.kind != KeyKind::Secret {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    "this endpoint needs a secret key",
                ));
            }
            Ok(SecretCaller(caller))
        })
    }
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
///
/// Good keys and unknown ones are kept apart: made-up keys only ever land in a
/// small map of their own, so a flood of them cannot push a real key out and
/// send its storefront back to the database on every event.
#[derive(Debug)]
pub struct AuthCache {
    ttl: Duration,
    good: Mutex<HashMap<String, (Caller, Instant)>>,
    unknown: Mutex<HashMap<String, Instant>>,
}

/// Enough for every key of a large deployment; only keys that resolved count.
const GOOD_ENTRIES: usize = 10_000;
/// Unknown keys remembered: a client stuck on a revoked key does not cost a
/// query per request, and junk cannot grow memory.
const UNKNOWN_ENTRIES: usize = 1_024;

impl AuthCache {
    pub fn new(ttl: Duration) -> AuthCache {
        AuthCache {
            ttl,
            good: Mutex::new(HashMap::new()),
            unknown: Mutex::new(HashMap::new()),
        }
    }

    /// The caller of a key known to be good.
    pub(crate) fn get_good(&self, key: &str) -> Option<Caller> {
        if self.ttl.is_zero() {
            return None;
        }
        let good = self.good.lock().ok()?;
        let (caller, at) = good.get(key)?;
        (at.elapsed() < self.ttl).then(|| caller.clone())
    }

    /// Some(caller) for a good key, Some(None) for one known not to be, None
    /// when the database must be asked.
    fn get(&self, key: &str) -> Option<Option<Caller>> {
        if let Some(caller) = self.get_good(key) {
            return Some(Some(caller));
        }
        if self.ttl.is_zero() {
            return None;
        }
        let unknown = self.unknown.lock().ok()?;
        let at = unknown.get(key)?;
        (at.elapsed() < self.ttl).then_some(None)
    }

    /// Whether `key` resolved to a real key before (however long ago): such a
    /// key is looked up again even from an address refused for failed
    /// authentication. Made-up keys never get here.
    pub(crate) fn known_good(&self, key: &str) -> bool {
        self.good.lock().is_ok_and(|good| good.contains_key(key))
    }

    fn put(&self, key: String, caller: Option<Caller>) {
        let now = Instant::now();
        match caller {
            Some(caller) => {
                if let Ok(mut good) = self.good.lock() {
                    if good.len() >= GOOD_ENTRIES {
                        good.retain(|_, (_, at)| at.elapsed() < self.ttl);
                    }
                    if good.len() >= GOOD_ENTRIES {
                        good.clear();
                    }
                    good.insert(key, (caller, now));
                }
            }
            // Good keys are kept even with a zero TTL (never served from here
            // then, only recognised by `known_good`).
            None if self.ttl.is_zero() => {}
            None => {
                if let Ok(mut unknown) = self.unknown.lock() {
                    if unknown.len() >= UNKNOWN_ENTRIES {
                        unknown.clear();
                    }
                    unknown.insert(key, now);
                }
            }
        }
    }
}

/// Resolves the caller, or 401 with the error envelope (403 `TENANT_INACTIVE`
/// for a good key of a suspended or closed shop).
pub async fn authenticate_request(
    state: &AppState,
    request: &HttpRequest,
) -> Result<Caller, ApiError> {
    // Resolved already by the request layer (which counts keys only once they
    // are known good).
    let cached = request.extensions().get::<Caller>().cloned();
    let caller = match cached {
        Some(caller) => caller,
        None => {
            let Some(key) = presented_key(request) else {
                return Err(ApiError::unauthorized());
            };
            resolve_key(state, key).await?
        }
    };
    admit(caller)
}

/// Resolves a key however it was presented (a header, the query string of the
/// public capture endpoint, a compatibility route's own parameter), or 401
/// with the error envelope (403 `TENANT_INACTIVE` for a good key of a
/// suspended or closed shop).
pub async fn authenticate_key(state: &AppState, key: &str) -> Result<Caller, ApiError> {
    admit(resolve_key(state, key).await?)
}

/// The one check of the tenant's status every authenticated request passes:
/// only an active shop is served. The status travels with the cached caller,
/// so an operator's `cartback tenant suspend` takes effect within the cache's TTL.
fn admit(caller: Caller) -> Result<Caller, ApiError> {
    if caller.tenant.status.is_served() {
        Ok(caller)
    } else {
        Err(ApiError::tenant_inactive())
    }
}

/// The caller a key belongs to, whatever its tenant's status (the request
/// layer counts it against the key's rate limit either way), or 401.
pub(crate) async fn resolve_key(state: &AppState, key: &str) -> Result<Caller, ApiError> {
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
    let found = state
        .db(move |conn| -> cartback_store::StoreResult<_> {
            let Some(api_key) = authenticate(conn, &key)? else {
                return Ok(None);
            };
            // Only a stale time is written (once a minute per key), and only on
            // a cache miss: a busy storefront does not write per request.
            let now = chrono::Utc::now().naive_utc();
            if api_key.last_used_is_stale(now)
                && let Err(error) = record_key_use(conn, &api_key.id, now)
            {
                // The time is a convenience: the request goes on without it.
                tracing::warn!(%error, key = %api_key.id, "could not record the key's last use");
            }
            let kind = api_key.kind;
            Ok(find_tenant(conn, &api_key.tenant_id)?.map(|tenant| Caller { tenant, kind }))
        })
        .await?;
    state.auth_cache.put(cache_key, found.clone());
    found.ok_or_else(ApiError::unauthorized)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    fn caller(id: &str) -> Caller {
        Caller {
            tenant: Tenant {
                id: id.to_owned(),
                name: "Shop".to_owned(),
                from_email: "shop@example.com".to_owned(),
                from_name: None,
                recovery_url: None,
                policy: "{}".to_owned(),
                created_at: NaiveDateTime::default(),
                updated_at: NaiveDateTime::default(),
                link_secret: "secret".to_owned(),
                experience: "{}".to_owned(),
                allowed_origins: "[]".to_owned(),
                reply_to: None,
                default_currency: "USD".to_owned(),
                status: cartback_domain::TenantStatus::Active,
            },
            kind: KeyKind::Secret,
        }
    }

    #[test]
    fn a_flood_of_junk_keys_does_not_evict_a_good_one() {
        let cache = AuthCache::new(Duration::from_secs(60));
        cache.put("sk_good".to_owned(), Some(caller("ten_a")));
        for n in 0..(GOOD_ENTRIES + 5 * UNKNOWN_ENTRIES) {
            cache.put(format!("sk_junk{n}"), None);
        }
        let good = cache
            .get_good("sk_good")
            .expect("the good key is still cached");
        assert_eq!(good.tenant.id, "ten_a");
        assert!(matches!(cache.get("sk_good"), Some(Some(_))));
        // The junk map stays small, and a recent unknown key is remembered.
        assert!(cache.unknown.lock().unwrap().len() <= UNKNOWN_ENTRIES);
        let last = format!("sk_junk{}", GOOD_ENTRIES + 5 * UNKNOWN_ENTRIES - 1);
        assert!(matches!(cache.get(&last), Some(None)));
        assert_eq!(cache.get_good(&last).map(|c| c.tenant.id), None);
        assert!(cache.known_good("sk_good"));
        assert!(!cache.known_good(&last));
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let cache = AuthCache::new(Duration::ZERO);
        cache.put("sk_good".to_owned(), Some(caller("ten_a")));
        cache.put("sk_junk".to_owned(), None);
        assert!(cache.get("sk_good").is_none());
        assert!(cache.get("sk_junk").is_none());
        assert!(cache.known_good("sk_good"));
        assert!(!cache.known_good("sk_junk"));
    }
}
