//! API keys: random, shown once, stored as SHA-256 hashes with a display prefix.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::columns::{Stored, text_enum};
use crate::connection::DbConn;
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
}

impl ApiKey {}

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
