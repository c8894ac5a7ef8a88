//! What a dashboard user may do in their shop.

use crate::error::InvalidValue;

/// A dashboard user's role. Every role reads everything of its own tenant;
/// only owners and admins change anything, and only owners manage people.
///
/// ```
/// use cartback_domain::UserRole;
/// let viewer = UserRole::parse("viewer").unwrap();
/// assert!(!viewer.may_change_settings());
/// assert!(UserRole::Owner.may_manage_users());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UserRole {
    /// Everything, people included.
    Owner,
    /// Every setting and cart action, but not people.
    Admin,
    /// Reads only.
    Viewer,
}

impl UserRole {
    pub const ALL: [UserRole; 3] = [UserRole::Owner, UserRole::Admin, UserRole::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Owner => "owner",
            UserRole::Admin => "admin",
            UserRole::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Result<UserRole, InvalidValue> {
        UserRole::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| InvalidValue::new("must be owner, admin or viewer").at("role"))
    }

    /// Carts, settings, keys: every change but people.
    pub fn may_change_settings(self) -> bool {
        matches!(self, UserRole::Owner | UserRole::Admin)
    }

    /// Inviting and removing users.
    pub fn may_manage_users(self) -> bool {
        self == UserRole::Owner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_unknown_ones_are_named() {
        for role in UserRole::ALL {
            assert_eq!(UserRole::parse(role.as_str()), Ok(role));
        }
        let error = UserRole::parse("Owner").unwrap_err();
        assert_eq!(error.field.as_deref(), Some("role"));
        assert!(!UserRole::Viewer.may_change_settings());
        assert!(UserRole::Admin.may_change_settings());
        assert!(!UserRole::Admin.may_manage_users());
    }
}
