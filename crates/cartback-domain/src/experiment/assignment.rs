//! Which group a shopper is in: a keyed hash of who they are and which
//! experiment it is, mapped onto the groups' traffic shares. The same inputs
//! always give the same group, on any machine, after any restart.

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};

use crate::email_address::EmailAddress;
use crate::error::InvalidValue;
use crate::session::SessionId;

/// Traffic is divided in basis points: shares are whole hundredths of a
/// percent and a shopper's bucket is one of this many.
pub const BUCKETS: u32 = 10_000;

/// At most this many groups in one experiment (a holdout and nine variants).
pub const MAX_GROUPS: usize = 10;

/// Who a cart belongs to, for assignment: the shopper's address when the
/// cart has one (so one person stays in one group across carts and
/// devices), else the storefront session.
#[derive(Debug, Clone, Copy)]
pub enum Shopper<'a> {
    Email(&'a EmailAddress),
    Session(&'a SessionId),
}

/// A shopper's bucket in `[0, BUCKETS)` for one experiment: HMAC-SHA256 under
/// the tenant's assignment key of the experiment id and the normalised
/// identity (an address trimmed and lower-cased as a whole, as the store
/// compares addresses; a session id as given). The key keeps buckets
/// unpredictable to anyone outside the shop; the experiment id makes each
/// experiment's split independent of every other's.
///
/// ```
/// use cartback_domain::{assignment_bucket, EmailAddress, Shopper};
/// let sam = EmailAddress::parse("Sam@Example.com").unwrap();
/// let same_sam = EmailAddress::parse("sam@example.com").unwrap();
/// let a = assignment_bucket(b"tenant key", "exp_1", Shopper::Email(&sam));
/// assert!(a < 10_000);
/// assert_eq!(a, assignment_bucket(b"tenant key", "exp_1", Shopper::Email(&same_sam)));
/// ```
pub fn assignment_bucket(key: &[u8], experiment_id: &str, shopper: Shopper<'_>) -> u32 {
    let (kind, identity) = match shopper {
        Shopper::Email(email) => ("email", email.as_str().trim().to_lowercase()),
        Shopper::Session(session) => ("session", session.as_str().to_owned()),
    };
    #[expect(clippy::expect_used, reason = "HMAC accepts keys of any length")]
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key)
        .expect("HMAC accepts keys of any length");
    // Length-prefixed fields: no two (experiment, identity) pairs share a message.
    mac.update(b"cartback experiment assignment v1");
    for field in [experiment_id, kind, identity.as_str()] {
        mac.update(&(field.len() as u64).to_be_bytes());
        mac.update(field.as_bytes());
    }
    let digest = mac.finalize().into_bytes();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // 2^64 is not a multiple of 10 000; the bias this leaves is below 10^-15.
    (u64::from_be_bytes(first) % u64::from(BUCKETS)) as u32
}

/// One group of an experiment and its share of the traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupShare {
    /// `[a-z0-9_-]`, 1 to 32 characters, unique within the experiment.
    pub name: String,
    /// Share of shoppers, in basis points (1000 = 10 %).
    pub basis_points: u32,
    /// A holdout group gets no recovery email.
    #[serde(default)]
    pub holdout: bool,
}

/// An experiment's groups, whose shares add up to exactly [`BUCKETS`].
/// Buckets are handed out in the groups' order: the first group takes the
/// lowest buckets.
///
/// ```
/// use cartback_domain::{EmailAddress, Shopper, TrafficSplit};
/// let split = TrafficSplit::holdout(1000).unwrap(); // 10 % hear nothing
/// let sam = EmailAddress::parse("sam@example.com").unwrap();
/// let group = split.assign(b"tenant key", "holdout_2026", Shopper::Email(&sam));
/// assert!(group.name == "holdout" || group.name == "emails");
/// assert_eq!(split.group_for_bucket(999).name, "holdout");
/// assert_eq!(split.group_for_bucket(1000).name, "emails");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<GroupShare>", into = "Vec<GroupShare>")]
pub struct TrafficSplit {
    groups: Vec<GroupShare>,
}

impl TrafficSplit {
    /// Checks the groups: 2 to [`MAX_GROUPS`] of them, names valid and
    /// unique, every share at least one basis point, shares summing to
    /// [`BUCKETS`], at most one holdout. Errors name the field
    /// (`groups[1].basisPoints`).
    pub fn new(groups: Vec<GroupShare>) -> Result<TrafficSplit, InvalidValue> {
        if !(2..=MAX_GROUPS).contains(&groups.len()) {
            return Err(
                InvalidValue::new(format!("must have 2 to {MAX_GROUPS} groups")).at("groups"),
            );
        }
        let mut total = 0u32;
        for (i, group) in groups.iter().enumerate() {
            let at = |field: &str| format!("groups[{i}].{field}");
            let name_ok = (1..=32).contains(&group.name.len())
                && group.name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            if !name_ok {
                return Err(
                    InvalidValue::new("must be 1 to 32 characters of a-z, 0-9, _ and -")
                        .at(at("name")),
                );
            }
            if groups[..i].iter().any(|other| other.name == group.name) {
                return Err(InvalidValue::new("is used by another group").at(at("name")));
            }
            if !(1..=BUCKETS).contains(&group.basis_points) {
                return Err(
                    InvalidValue::new(format!("must be 1 to {BUCKETS}")).at(at("basisPoints"))
                );
            }
            if group.holdout && groups[..i].iter().any(|other| other.holdout) {
                return Err(
                    InvalidValue::new("only one group can be the holdout").at(at("holdout"))
                );
            }
            total += group.basis_points;
        }
        if total != BUCKETS {
            return Err(InvalidValue::new(format!(
                "shares must add up to {BUCKETS} basis points, not {total}"
            ))
            .at("groups"));
        }
        Ok(TrafficSplit { groups })
    }

    /// A holdout of `basis_points` (named `holdout`) and everyone else
    /// (`emails`); the holdout takes 1 to 9999 basis points.
    pub fn holdout(basis_points: u32) -> Result<TrafficSplit, InvalidValue> {
        if !(1..BUCKETS).contains(&basis_points) {
            return Err(InvalidValue::new(format!(
                "the holdout must take 1 to {} basis points",
                BUCKETS - 1
            )));
        }
        TrafficSplit::new(vec![
            GroupShare {
                name: "holdout".into(),
                basis_points,
                holdout: true,
            },
            GroupShare {
                name: "emails".into(),
                basis_points: BUCKETS.saturating_sub(basis_points),
                holdout: false,
            },
        ])
    }

    pub fn groups(&self) -> &[GroupShare] {
        &self.groups
    }

    /// The group that owns `bucket`; buckets past the last go to the last group.
    pub fn group_for_bucket(&self, bucket: u32) -> &GroupShare {
        let mut end = 0;
        for group in &self.groups {
            end += group.basis_points;
            if bucket < end {
                return group;
            }
        }
        // Non-empty by construction (at least two groups).
        &self.groups[self.groups.len() - 1]
    }

    /// The shopper's group in experiment `experiment_id` (see
    /// [`assignment_bucket`]).
    pub fn assign(&self, key: &[u8], experiment_id: &str, shopper: Shopper<'_>) -> &GroupShare {
        self.group_for_bucket(assignment_bucket(key, experiment_id, shopper))
    }
}

impl TryFrom<Vec<GroupShare>> for TrafficSplit {
    type Error = InvalidValue;

    fn try_from(groups: Vec<GroupShare>) -> Result<Self, Self::Error> {
        TrafficSplit::new(groups)
    }
}

impl From<TrafficSplit> for Vec<GroupShare> {
    fn from(split: TrafficSplit) -> Self {
        split.groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, basis_points: u32) -> GroupShare {
        GroupShare {
            name: name.into(),
            basis_points,
            holdout: false,
        }
    }

    #[test]
    fn rejects_bad_splits_naming_the_field() {
        let field = |groups| TrafficSplit::new(groups).unwrap_err().field.unwrap();
        assert_eq!(field(vec![group("a", 10_000)]), "groups");
        assert_eq!(field(vec![group("a", 5000), group("b", 4000)]), "groups");
        assert_eq!(
            field(vec![group("a", 5000), group("A", 5000)]),
            "groups[1].name"
        );
        assert_eq!(
            field(vec![group("a", 5000), group("a", 5000)]),
            "groups[1].name"
        );
        assert_eq!(
            field(vec![group("a", 10_000), group("b", 0)]),
            "groups[1].basisPoints"
        );
        let both_held_out = vec![
            GroupShare {
                holdout: true,
                ..group("a", 5000)
            },
            GroupShare {
                holdout: true,
                ..group("b", 5000)
            },
        ];
        assert_eq!(field(both_held_out), "groups[1].holdout");
        for outside in [0, 10_000, u32::MAX] {
            let error = TrafficSplit::holdout(outside).unwrap_err();
            assert_eq!(
                error.message,
                "the holdout must take 1 to 9999 basis points"
            );
        }
    }

    #[test]
    fn deserialising_checks_the_split() {
        let ok: TrafficSplit = serde_json::from_str(
            r#"[{"name": "holdout", "basisPoints": 1000, "holdout": true}, {"name": "emails", "basisPoints": 9000}]"#,
        )
        .unwrap();
        assert_eq!(ok, TrafficSplit::holdout(1000).unwrap());
        assert!(
            serde_json::from_str::<TrafficSplit>(
                r#"[{"name": "a", "basisPoints": 1}, {"name": "b", "basisPoints": 1}]"#
            )
            .is_err()
        );
    }

    #[test]
    fn email_and_session_namespaces_do_not_collide() {
        // Pinned: a change of the hash would move every running experiment's shoppers.
        let email = EmailAddress::parse("a@b.co").unwrap();
        let session = SessionId::parse("a@b.co").unwrap();
        let by_email = assignment_bucket(b"k", "e", Shopper::Email(&email));
        let by_session = assignment_bucket(b"k", "e", Shopper::Session(&session));
        assert_eq!((by_email, by_session), (PINNED_EMAIL, PINNED_SESSION));
    }

    // Computed independently with Python's hmac module.
    const PINNED_EMAIL: u32 = 9554;
    const PINNED_SESSION: u32 = 3105;
}
