//! API keys: random, shown once, stored as SHA-256 hashes with a display prefix.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::columns::{Stored, text_enum};
use crate::connection::{DbConn, lock_key, write_transaction};
use crate::error::{StoreError, StoreResult};
use crate::ids::{random_id, sha256_hex};
use crate::schema::api_keys;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `sk_…`: full access to the tenant's data.
    Secret,
    /// `pk_…`: may only write carts, safe to ship to browsers.
    Publishable,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Secret => "secret",
            KeyKind::Publishable => "publishable",
        }
    }
    pub fn parse(value: &str) -> Option<KeyKind> {
        match value {
            "secret" => Some(KeyKind::Secret),
            "publishable" => Some(KeyKind::Publishable),
            _ => None,
        }
    }
    fn token_prefix(self) -> &'static str {
        match self {
            KeyKind::Secret => "sk_",
            KeyKind::Publishable => "pk_",
        }
    }
}

text_enum!(KeyKind, "api_keys.kind", KeyKind::parse);

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: String,
    pub tenant_id: String,
    #[diesel(deserialize_as = Stored<KeyKind>)]
    pub kind: KeyKind,
    pub key_hash: String,
    pub prefix: String,
    pub label: Option<String>,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    /// When the api last looked the key up (written at most once per
    /// [`LAST_USED_PRECISION`]).
    pub last_used_at: Option<NaiveDateTime>,
    /// The whole key of a publishable key made since this was kept (it is
    /// public by design: storefront pages carry it); never a secret key.
    pub public_key: Option<String>,
}

/// How stale a key's `last_used_at` may get before a use writes it again: a
/// busy storefront costs one write a minute per key, not one per request.
pub const LAST_USED_PRECISION: TimeDelta = TimeDelta::minutes(1);

impl ApiKey {
    /// Whether a use at `now` should be written down.
    pub fn last_used_is_stale(&self, now: NaiveDateTime) -> bool {
        self.last_used_at
            .is_none_or(|at| now - at >= LAST_USED_PRECISION || at > now)
    }
}

/// A freshly created key: the only moment the secret exists in clear.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub key: ApiKey,
    pub secret: String,
}

pub fn create_key(
    conn: &mut DbConn,
    tenant_id: &str,
    kind: KeyKind,
    label: Option<&str>,
    now: NaiveDateTime,
) -> StoreResult<CreatedKey> {
    let secret = random_id(kind.token_prefix(), 32);
    let key = ApiKey {
        id: random_id("key_", 16),
        tenant_id: tenant_id.to_owned(),
        kind,
        key_hash: sha256_hex(&secret),
        // Enough to recognise a key in a list, far too little to guess it.
        prefix: secret.chars().take(10).collect(),
        label: label.map(str::to_owned),
        created_at: now,
        revoked_at: None,
        last_used_at: None,
        public_key: (kind == KeyKind::Publishable).then(|| secret.clone()),
    };
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::id.eq(&key.id),
            api_keys::tenant_id.eq(&key.tenant_id),
            api_keys::kind.eq(Stored(key.kind)),
            api_keys::key_hash.eq(&key.key_hash),
            api_keys::prefix.eq(&key.prefix),
            api_keys::label.eq(&key.label),
            api_keys::created_at.eq(now),
            api_keys::public_key.eq(&key.public_key),
        ))
        .execute(conn)?;
    Ok(CreatedKey { key, secret })
}

/// The live (not revoked) key whose secret is `presented`, if any.
pub fn authenticate(conn: &mut DbConn, presented: &str) -> StoreResult<Option<ApiKey>> {
    Ok(api_keys::table
        .filter(api_keys::key_hash.eq(sha256_hex(presented)))
        .filter(api_keys::revoked_at.is_null())
        .select(ApiKey::as_select())
        .first(conn)
        .optional()?)
}

pub fn list_keys(conn: &mut DbConn, tenant_id: &str) -> StoreResult<Vec<ApiKey>> {
    Ok(api_keys::table
        .filter(api_keys::tenant_id.eq(tenant_id))
        .order(api_keys::created_at.asc())
        .select(ApiKey::as_select())
        .load(conn)?)
}

/// Notes that `key_id` was used at `now`, unless another use already did
/// within [`LAST_USED_PRECISION`] (so concurrent lookups write once).
pub fn record_key_use(conn: &mut DbConn, key_id: &str, now: NaiveDateTime) -> StoreResult<()> {
    diesel::update(
        api_keys::table.filter(api_keys::id.eq(key_id)).filter(
            api_keys::last_used_at
                .is_null()
                .or(api_keys::last_used_at.le(now - LAST_USED_PRECISION))
                .or(api_keys::last_used_at.gt(now)),
        ),
    )
    .set(api_keys::last_used_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// The tenant's key `key_id`, revoked or not.
pub fn find_key(conn: &mut DbConn, tenant_id: &str, key_id: &str) -> StoreResult<Option<ApiKey>> {
    Ok(api_keys::table
        .filter(api_keys::tenant_id.eq(tenant_id))
        .filter(api_keys::id.eq(key_id))
        .select(ApiKey::as_select())
        .first(conn)
        .optional()?)
}

/// Why a tenant's own revocation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeRefusal {
    /// The tenant has no such key, or it is revoked already.
    NotFound,
    /// It is the tenant's last active secret key: revoking it would lock the
    /// shop out of its own API.
    LastSecretKey,
}

/// Revokes a key for its tenant (the API and the dashboard), refusing to take
/// away the last active secret key. The count and the revocation are one
/// write transaction, under a lock per tenant, so two concurrent revocations
/// cannot both pass the check. (The operator's `cartback key revoke` uses
/// [`revoke_key`], which has no such rule.)
pub fn revoke_own_key(
    conn: &mut DbConn,
    tenant_id: &str,
    key_id: &str,
    now: NaiveDateTime,
) -> StoreResult<Result<ApiKey, RevokeRefusal>> {
    write_transaction(conn, |conn| {
        lock_key(conn, &format!("api_keys:{tenant_id}"))?;
        let Some(key) = find_key(conn, tenant_id, key_id)?.filter(|k| k.revoked_at.is_none())
        else {
            return Ok(Err(RevokeRefusal::NotFound));
        };
        if key.kind == KeyKind::Secret {
            let active_secrets: i64 = api_keys::table
                .filter(api_keys::tenant_id.eq(tenant_id))
                .filter(api_keys::kind.eq(Stored(KeyKind::Secret)))
                .filter(api_keys::revoked_at.is_null())
                .count()
                .get_result(conn)?;
            if active_secrets <= 1 {
                return Ok(Err(RevokeRefusal::LastSecretKey));
            }
        }
        revoke_key(conn, tenant_id, key_id, now)?;
        Ok(Ok(ApiKey {
            revoked_at: Some(now),
            ..key
        }))
    })
}

/// Revokes a key of this tenant; NotFound if the tenant has no such key.
pub fn revoke_key(
    conn: &mut DbConn,
    tenant_id: &str,
    key_id: &str,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let changed = diesel::update(
        api_keys::table
            .filter(api_keys::tenant_id.eq(tenant_id))
            .filter(api_keys::id.eq(key_id))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(now))
    .execute(conn)?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
