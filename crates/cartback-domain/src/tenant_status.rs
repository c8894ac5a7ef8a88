//! Whether a shop may use cartback at all: an operator's switch, not a billing state.

use crate::error::InvalidValue;

/// A tenant's standing. Only an active tenant is served: a suspended or closed
/// one is refused by every authenticated route and gets no email or webhook
/// from the worker (its carts wait, nothing is lost). `resume` makes either
/// active again.
///
/// ```
/// use cartback_domain::TenantStatus;
/// let status = TenantStatus::parse("suspended").unwrap();
/// assert!(!status.is_served());
/// assert!(TenantStatus::Active.is_served());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantStatus {
    /// Served normally.
    Active,
    /// Stopped for now (unpaid, abuse, the shop's own request); expected back.
    Suspended,
    /// The shop left; its data stays until an operator erases it.
    Closed,
}

impl TenantStatus {
    pub const ALL: [TenantStatus; 3] = [
        TenantStatus::Active,
        TenantStatus::Suspended,
        TenantStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Active => "active",
            TenantStatus::Suspended => "suspended",
            TenantStatus::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Result<TenantStatus, InvalidValue> {
        TenantStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| InvalidValue::new("must be active, suspended or closed").at("status"))
    }

    /// Whether the api answers the tenant's keys and the worker works for it.
    pub fn is_served(self) -> bool {
        self == TenantStatus::Active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_only_active_is_served() {
        for status in TenantStatus::ALL {
            assert_eq!(TenantStatus::parse(status.as_str()), Ok(status));
        }
        assert!(TenantStatus::parse("Active").is_err());
        assert!(!TenantStatus::Closed.is_served());
        assert!(!TenantStatus::Suspended.is_served());
    }
}
