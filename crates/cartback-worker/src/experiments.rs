//! Experiments in the worker: a cart abandoned while its tenant runs an
//! experiment is assigned a group (recorded on the cart), and a cart in an
//! A/B group is handled by its variant of the policy. Held-out carts need
//! nothing here beyond their assignment: the cart row says `held_out`, and the
//! decisions send them nothing.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use cartback_domain::{
    CartStatus, EmailAddress, ExperimentDesign, RecoveryPolicy, SessionId, Shopper, Variant,
    VariantCopy, policy_version,
};
use cartback_store::carts::CartRow;
use cartback_store::experiments::{
    Assignment, CartAssignment, ExperimentRow, assignment_keys, experiments_by_ids,
    record_assignments, running_experiments,
};
use cartback_store::{Store, StoreResult};

/// The policy each cart of a batch is handled by: its tenant's, or its A/B
/// group's variant of it.
#[derive(Debug, Default)]
pub(crate) struct CartPolicies {
    tenants: HashMap<String, RecoveryPolicy>,
    /// By (tenant, experiment, group): the variant and the policy it makes.
    variants: HashMap<(String, String, String), (Variant, RecoveryPolicy)>,
}

impl CartPolicies {
    pub(crate) fn new(tenants: HashMap<String, RecoveryPolicy>) -> CartPolicies {
        CartPolicies {
            tenants,
            variants: HashMap::new(),
        }
    }

    fn group_key(cart: &CartRow) -> Option<(String, String, String)> {
        let assignment = cart.experiment.as_ref()?;
        Some((
            cart.tenant_id.clone(),
            assignment.experiment_id.clone(),
            assignment.group.clone(),
        ))
    }

    /// The policy `cart` is handled by; None when its tenant's is unreadable.
    pub(crate) fn for_cart(&self, cart: &CartRow) -> Option<&RecoveryPolicy> {
        Self::group_key(cart)
            .and_then(|key| self.variants.get(&key))
            .map(|(_, policy)| policy)
            .or_else(|| self.tenants.get(&cart.tenant_id))
    }

    /// The words the cart's variant sets for `step`, if any.
    pub(crate) fn copy_for(&self, cart: &CartRow, step: u32) -> Option<VariantCopy> {
        let (variant, _) = self.variants.get(&Self::group_key(cart)?)?;
        variant.copy_for(step).cloned()
    }

    /// Adds the variants of these experiments' groups.
    fn add_experiments(&mut self, experiments: &[ExperimentRow]) {
        for experiment in experiments {
            let Some(base) = self.tenants.get(&experiment.tenant_id) else {
                continue;
            };
            for group in &experiment.groups {
                if group.variant.is_empty() {
                    continue;
                }
                let policy = group.variant.apply(base);
                self.variants.insert(
                    (
                        experiment.tenant_id.clone(),
                        experiment.id.clone(),
                        group.name.clone(),
                    ),
                    (group.variant.clone(), policy),
                );
            }
        }
    }
}

/// Which group `cart` falls in, if it can be told: by its address, else its
/// session.
fn assign(
    design: &ExperimentDesign,
    key: &str,
    experiment_id: &str,
    cart: &CartRow,
) -> Option<(String, bool)> {
    let email = cart
        .customer_email
        .as_deref()
        .and_then(|e| EmailAddress::parse(e).ok());
    let session = SessionId::parse(&cart.session_id).ok();
    let shopper = match (&email, &session) {
        (Some(email), _) => Shopper::Email(email),
        (None, Some(session)) => Shopper::Session(session),
        (None, None) => return None,
    };
    let group = design
        .split()
        .assign(key.as_bytes(), experiment_id, shopper);
    Some((group.name.clone(), group.holdout))
}

/// Assigns the batch's carts that become abandoned now while their tenant
/// runs an experiment (and have no group yet), records the groups, and
/// returns the policies every cart of the batch is handled by. `becomes_abandoned`
/// says whether a cart, under its tenant's policy, is abandoned at `now`.
pub(crate) fn assign_and_resolve(
    store: &Store,
    claimed: &mut [CartRow],
    tenants: HashMap<String, RecoveryPolicy>,
    now: DateTime<Utc>,
    becomes_abandoned: impl Fn(&CartRow, &RecoveryPolicy) -> bool,
) -> StoreResult<CartPolicies> {
    let mut policies = CartPolicies::new(tenants);
    let mut conn = store.conn()?;
    let tenant_ids: Vec<&str> = policies.tenants.keys().map(String::as_str).collect();
    let running: BTreeMap<String, ExperimentRow> = running_experiments(&mut conn, &tenant_ids)?
        .into_iter()
        .map(|e| (e.tenant_id.clone(), e))
        .collect();
    let mut assignments = Vec::new();
    if !running.is_empty() {
        let running_tenants: Vec<&str> = running.keys().map(String::as_str).collect();
        let keys = assignment_keys(&mut conn, &running_tenants)?;
        for cart in claimed.iter() {
            let (Some(experiment), Some(key), Some(policy)) = (
                running.get(&cart.tenant_id),
                keys.get(&cart.tenant_id),
                policies.tenants.get(&cart.tenant_id),
            ) else {
                continue;
            };
            if cart.experiment_id.is_some()
                || cart.status != CartStatus::Active
                || !becomes_abandoned(cart, policy)
            {
                continue;
            }
            let design = match experiment.design() {
                Ok(design) => design,
                Err(error) => {
                    tracing::error!(experiment = %experiment.id, %error, "experiment groups unreadable; carts are not assigned");
                    continue;
                }
            };
            let Some((group, held_out)) = assign(&design, key, &experiment.id, cart) else {
                continue;
            };
            assignments.push(Assignment {
                tenant_id: cart.tenant_id.clone(),
                cart_id: cart.id.clone(),
                assignment: CartAssignment {
                    experiment_id: experiment.id.clone(),
                    group,
                    held_out,
                    policy_version: policy_version(policy),
                    assigned_at: now,
                },
            });
        }
    }
    let recorded = record_assignments(&mut conn, &assignments)?;
    for assignment in assignments {
        if !recorded.contains(&assignment.cart_id) {
            continue;
        }
        if let Some(cart) = claimed.iter_mut().find(|c| c.id == assignment.cart_id) {
            let recorded = assignment.assignment;
            tracing::info!(cart = %cart.id, experiment = %recorded.experiment_id, group = %recorded.group, "cart assigned to an experiment group");
            cart.experiment_id = Some(recorded.experiment_id.clone());
            cart.experiment = Some(recorded);
            cart.version += 1;
        }
    }
    let referenced: Vec<(String, String)> = claimed
        .iter()
        .filter_map(|c| {
            Some((
                c.tenant_id.clone(),
                c.experiment.as_ref()?.experiment_id.clone(),
            ))
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    policies.add_experiments(&experiments_by_ids(&mut conn, &referenced)?);
    Ok(policies)
}
