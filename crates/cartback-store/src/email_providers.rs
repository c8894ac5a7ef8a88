//! A tenant's own email provider, its settings sealed with [`MasterKeys`].

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};

use crate::connection::{DbConn, write_transaction};
use crate::crypto::{CryptoError, MasterKeys, Purpose};
use crate::error::{StoreError, StoreResult};
use crate::schema::email_providers;
use crate::sql::dialect;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = email_providers)]
pub struct ProviderRow {
    pub tenant_id: String,
    pub kind: String,
    /// Sealed settings JSON; never plaintext.
    pub settings: String,
    pub key_id: String,
    /// Settings with secrets replaced by hints, as JSON.
    pub masked: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl From<CryptoError> for StoreError {
    fn from(error: CryptoError) -> StoreError {
        StoreError::Crypto(error.to_string())
    }
}

impl ProviderRow {
    /// The settings JSON in clear, for building the provider.
    pub fn open(&self, keys: &MasterKeys) -> StoreResult<String> {
        let plain = keys.open(Purpose::EmailProvider, &self.tenant_id, &self.settings)?;
        String::from_utf8(plain)
            .map_err(|_| StoreError::Corrupt("provider settings are not UTF-8".into()))
    }
}

const UPSERT_SQL: &str = "\
INSERT INTO email_providers (tenant_id, kind, settings, key_id, masked, created_at, updated_at) \
VALUES ($1, $2, $3, $4, $5, $6, $6) \
ON CONFLICT (tenant_id) DO UPDATE SET kind = excluded.kind, settings = excluded.settings, \
    key_id = excluded.key_id, masked = excluded.masked, updated_at = excluded.updated_at";

/// Seals `settings_json` and stores it as the tenant's provider.
pub fn set_provider(
    conn: &mut DbConn,
    keys: &MasterKeys,
    tenant_id: &str,
    kind: &str,
    settings_json: &str,
    masked_json: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let sealed = keys.seal(Purpose::EmailProvider, tenant_id, settings_json.as_bytes())?;
    let key_id = MasterKeys::key_id_of(&sealed)
        .unwrap_or_default()
        .to_owned();
    diesel::sql_query(dialect(conn, UPSERT_SQL))
        .bind::<Text, _>(tenant_id)
        .bind::<Text, _>(kind)
        .bind::<Text, _>(&sealed)
        .bind::<Text, _>(&key_id)
        .bind::<Text, _>(masked_json)
        .bind::<Timestamp, _>(now.naive_utc())
        .execute(conn)?;
    Ok(())
}

pub fn find_provider(conn: &mut DbConn, tenant_id: &str) -> StoreResult<Option<ProviderRow>> {
    Ok(email_providers::table
        .filter(email_providers::tenant_id.eq(tenant_id))
        .select(ProviderRow::as_select())
        .first(conn)
        .optional()?)
}

/// Removes the tenant's provider; false when it had none.
pub fn delete_provider(conn: &mut DbConn, tenant_id: &str) -> StoreResult<bool> {
    let removed =
        diesel::delete(email_providers::table.filter(email_providers::tenant_id.eq(tenant_id)))
            .execute(conn)?;
    Ok(removed > 0)
}

/// Re-seals every stored provider under the current master key and in the current
/// format (which binds the purpose). Returns how many rows changed. Safe to run
/// again: rows already current are skipped.
pub fn reseal_all(conn: &mut DbConn, keys: &MasterKeys) -> StoreResult<usize> {
    let current = keys.current_id().ok_or(CryptoError::NoKey)?.to_owned();
    write_transaction(conn, |conn| {
        // Every row is looked at: one sealed in the first format under the current
        // key has the current key id but still needs upgrading.
        let rows: Vec<ProviderRow> = email_providers::table
            .select(ProviderRow::as_select())
            .load::<ProviderRow>(conn)?
            .into_iter()
            .filter(|row| !keys.is_current(&row.settings))
            .collect();
        for row in &rows {
            let plain = keys.open(Purpose::EmailProvider, &row.tenant_id, &row.settings)?;
            let sealed = keys.seal(Purpose::EmailProvider, &row.tenant_id, &plain)?;
            diesel::update(
                email_providers::table.filter(email_providers::tenant_id.eq(&row.tenant_id)),
            )
            .set((
                email_providers::settings.eq(&sealed),
                email_providers::key_id.eq(&current),
            ))
            .execute(conn)?;
        }
        Ok(rows.len())
    })
}
