//! The browser origins a tenant lets capture carts with its publishable key,
//! kept as a JSON array of strings in `tenants.allowed_origins`. Checking that
//! each entry is a well-formed origin is the caller's job (the api does it before
//! saving); this module only reads and writes the list.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::DbConn;
use crate::error::{StoreError, StoreResult};
use crate::schema::tenants;

/// The stored text as a list. An empty or unreadable column reads as no origins,
/// which allows no browser at all (the safe reading).
pub fn parse_origins(stored: &str) -> Vec<String> {
    serde_json::from_str(stored).unwrap_or_default()
}

/// The tenant's allowed origins; `NotFound` when the tenant does not exist.
pub fn get_allowed_origins(conn: &mut DbConn, tenant_id: &str) -> StoreResult<Vec<String>> {
    let stored: Option<String> = tenants::table
        .filter(tenants::id.eq(tenant_id))
        .select(tenants::allowed_origins)
        .first(conn)
        .optional()?;
    stored
        .map(|text| parse_origins(&text))
        .ok_or(StoreError::NotFound)
}

/// Replaces the tenant's allowed origins; `NotFound` when the tenant does not exist.
pub fn set_allowed_origins(
    conn: &mut DbConn,
    tenant_id: &str,
    origins: &[String],
    now: NaiveDateTime,
) -> StoreResult<()> {
    let text = serde_json::to_string(origins)
        .map_err(|e| StoreError::Corrupt(format!("origins do not serialize: {e}")))?;
    let updated = diesel::update(tenants::table.filter(tenants::id.eq(tenant_id)))
        .set((
            tenants::allowed_origins.eq(text),
            tenants::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
