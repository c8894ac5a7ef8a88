//! `/dashboard/emails`: the look of the recovery emails (`PUT
//! /api/v1/settings/recovery`'s `email`: design and branding) and the shop's own
//! templates per language (`/api/v1/templates`), each with a preview and a test
//! send through the shop's own provider.

use chrono::Utc;

use cartback_store::tenants::set_experience;
use cartback_templates::Experience;

use crate::Dashboard;
use crate::error::PageError;

pub mod branding;
pub mod templates;
pub(crate) mod test_send;
pub mod words;

/// Stores the shop's email settings (the policy beside them is left alone).
async fn save_experience(
    dashboard: &Dashboard,
    tenant_id: &str,
    experience: &Experience,
) -> Result<(), PageError> {
    let text = serde_json::to_string(experience).map_err(|error| {
        tracing::error!(%error, "email settings do not serialize");
        PageError::Internal
    })?;
    let tenant_id = tenant_id.to_owned();
    dashboard
        .db(move |conn| set_experience(conn, &tenant_id, &text, Utc::now().naive_utc()))
        .await?;
    Ok(())
}
