//! Which provider sends a tenant's email: its own (sealed settings, opened with the
//! master keys) or the server's default. Built providers are cached per tenant and
//! rebuilt when the tenant changes its settings. Each provider comes with its own
//! bound on concurrent sends, so one slow provider cannot hold every slot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;
use tokio::sync::Semaphore;

use cartback_email::{EmailError, EmailProvider, ProviderSettings, Trust};
use cartback_store::Store;
use cartback_store::crypto::MasterKeys;
use cartback_store::email_providers::find_provider;

/// A provider and the permits that bound its concurrent sends.
#[derive(Clone)]
pub(crate) struct ProviderHandle {
    pub provider: Arc<dyn EmailProvider>,
    pub permits: Arc<Semaphore>,
}

type Cached = (NaiveDateTime, ProviderHandle);

#[derive(Clone)]
pub(crate) struct Providers {
    pub default: ProviderHandle,
    pub keys: Arc<MasterKeys>,
    per_provider: usize,
    /// Whether tenants' providers may reach private addresses.
    allow_private: bool,
    cache: Arc<Mutex<HashMap<String, Cached>>>,
}

impl Providers {
    /// `per_provider` concurrent sends are allowed through each provider.
    /// `default` is the operator's own provider, used as configured; tenants'
    /// providers are built with the SSRF guard unless `allow_private`.
    pub fn new(
        default: Arc<dyn EmailProvider>,
        keys: Arc<MasterKeys>,
        per_provider: usize,
        allow_private: bool,
    ) -> Providers {
        Providers {
            default: ProviderHandle {
                provider: default,
                permits: Arc::new(Semaphore::new(per_provider.max(1))),
            },
            keys,
            per_provider: per_provider.max(1),
            allow_private,
            cache: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Blocking: reads the tenant's provider row. A tenant whose settings cannot be
    /// opened (no or wrong master key) gets a transient error, never the default
    /// provider: its email must not leave through someone else's account.
    pub fn for_tenant(&self, store: &Store, tenant_id: &str) -> Result<ProviderHandle, EmailError> {
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
            && let Some((updated_at, handle)) = cache.get(tenant_id)
            && *updated_at == row.updated_at
        {
            return Ok(handle.clone());
        }
        let plain = row.open(&self.keys).map_err(|e| EmailError::Transient {
            message: format!("the tenant's provider settings cannot be opened: {e}"),
            retry_after: None,
        })?;
        let settings: ProviderSettings =
            serde_json::from_str(&plain).map_err(|e| EmailError::Permanent {
                message: format!("stored provider settings are invalid: {e}"),
            })?;
        let handle = ProviderHandle {
            // A refusal here (a literal private address) is final: the send dies.
            provider: settings.build(Trust::Tenant {
                allow_private: self.allow_private,
            })?,
            permits: Arc::new(Semaphore::new(self.per_provider)),
        };
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(tenant_id.to_owned(), (row.updated_at, handle.clone()));
        }
        Ok(handle)
    }
}
