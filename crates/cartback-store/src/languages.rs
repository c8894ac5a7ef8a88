//! The shop's own language ids and their locales, kept as a JSON array of
//! `{"id", "locale"}` in `tenants.language_ids`. The list is checked by
//! `cartback_domain::parse_language_ids` before it is saved; this module reads
//! and writes it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use cartback_domain::LanguageId;

use crate::connection::DbConn;
use crate::error::{StoreError, StoreResult};
use crate::schema::tenants;

/// The stored text as a list; text that is not one is corrupt.
fn stored_ids(tenant_id: &str, stored: &str) -> StoreResult<Vec<LanguageId>> {
    serde_json::from_str(stored)
        .map_err(|e| StoreError::Corrupt(format!("tenant {tenant_id} language ids: {e}")))
}

/// The tenant's language ids; `NotFound` when the tenant does not exist.
pub fn get_language_ids(conn: &mut DbConn, tenant_id: &str) -> StoreResult<Vec<LanguageId>> {
    let stored: Option<String> = tenants::table
        .filter(tenants::id.eq(tenant_id))
        .select(tenants::language_ids)
        .first(conn)
        .optional()?;
    stored_ids(tenant_id, &stored.ok_or(StoreError::NotFound)?)
}

/// Replaces the tenant's language ids; `NotFound` when the tenant does not exist.
pub fn set_language_ids(
    conn: &mut DbConn,
    tenant_id: &str,
    ids: &[LanguageId],
    now: NaiveDateTime,
) -> StoreResult<()> {
    let text = serde_json::to_string(ids)
        .map_err(|e| StoreError::Corrupt(format!("language ids do not serialize: {e}")))?;
    let updated = diesel::update(tenants::table.filter(tenants::id.eq(tenant_id)))
        .set((tenants::language_ids.eq(text), tenants::updated_at.eq(now)))
        .execute(conn)?;
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
