//! Which provider sends a tenant's email: its own (sealed settings, opened with the
//! master keys) or the server's default. Built providers are cached per tenant and
//! rebuilt when the tenant changes its settings.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;

use cartback_email::{EmailError, EmailProvider, ProviderSettings};
use cartback_store::Store;
use cartback_store::crypto::MasterKeys;
use cartback_store::email_providers::find_provider;

type Cached = (NaiveDateTime, Arc<dyn EmailProvider>);

#[derive(Clone)]
pub(crate) struct Providers {
    pub default: Arc<dyn EmailProvider>,
    pub keys: Arc<MasterKeys>,
    cache: Arc<Mutex<HashMap<String, Cached>>>,
}

impl Providers {
    pub fn new(default: Arc<dyn EmailProvider>, keys: Arc<MasterKeys>) -> Providers {
        Providers {
            default,
            keys,
            cache: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Blocking: reads the tenant's provider row. A tenant whose settings cannot be
    /// opened (no or wrong master key) gets a transient error, never the default
    /// provider: its email must not leave through someone else's account.
    pub fn for_tenant(
        &self,
        store: &Store,
        tenant_id: &str,
    ) -> Result<Arc<dyn EmailProvider>, EmailError> {
        let row = store
            .conn()
            .and_then(|mut conn| find_provider(&mut conn, tenant_id))
            .map_err(|e| EmailError::Transient {
                message: format!("reading the tenant's provider: {e}"),
                retry_after: None,
            })?;
        let Some(row) = row else {
            return Ok(self.default.clone());
        };
        if let Ok(cache) = self.cache.lock()
            && let Some((updated_at, provider)) = cache.get(tenant_id)
            && *updated_at == row.updated_at
        {
            return Ok(provider.clone());
        }
        let plain = row.open(&self.keys).map_err(|e| EmailError::Transient {
            message: format!("the tenant's provider settings cannot be opened: {e}"),
            retry_after: None,
        })?;
        let settings: ProviderSettings =
            serde_json::from_str(&plain).map_err(|e| EmailError::Permanent {
                message: format!("stored provider settings are invalid: {e}"),
            })?;
        let provider = settings.build()?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(tenant_id.to_owned(), (row.updated_at, provider.clone()));
        }
        Ok(provider)
    }
}
