//! Which cart an order belongs to.
//!
//! An order names its cart as well as the shop knows it: the session id the
//! storefront tracked, the `cart_token` a recovery link carried to the shop, or only
//! the shopper's email. The rules, strongest key first:
//!
//! 1. a cart with the order's session id, or the cart id the shop passed on (a
//!    Stripe Checkout Session's `client_reference_id`);
//! 2. else the cart a recovery token belongs to;
//! 3. else the shopper's newest open cart by email, if it was active inside the
//!    attribution window before the order.
//!
//! The status the matched cart then gets is [`on_order`](crate::on_order)'s decision.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::CartStatus;

/// The key an order was matched to its cart with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    Session,
    CartId,
    CartToken,
    Email,
}

impl MatchedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedBy::Session => "session",
            MatchedBy::CartId => "cart_id",
            MatchedBy::CartToken => "cart_token",
            MatchedBy::Email => "email",
        }
    }

    pub fn parse(text: &str) -> Option<MatchedBy> {
        Some(match text {
            "session" => MatchedBy::Session,
            "cart_id" => MatchedBy::CartId,
            "cart_token" => MatchedBy::CartToken,
            "email" => MatchedBy::Email,
            _ => return None,
        })
    }
}

/// Where an order came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderSource {
    /// An `ORDER_COMPLETE` tracking event.
    Track,
    /// A Stripe Checkout event.
    Stripe,
    /// The merchant marked the cart recovered or converted by hand (a PATCH
    /// of its status); the order carries the cart's own total.
    Manual,
}

impl OrderSource {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderSource::Track => "track",
            OrderSource::Stripe => "stripe",
            OrderSource::Manual => "manual",
        }
    }

    pub fn parse(text: &str) -> Option<OrderSource> {
        Some(match text {
            "track" => OrderSource::Track,
            "stripe" => OrderSource::Stripe,
            "manual" => OrderSource::Manual,
            _ => return None,
        })
    }
}

/// A cart one of the order's keys found, with what the rules need to know of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartCandidate<Id> {
    pub id: Id,
    pub found_by: MatchedBy,
    pub status: CartStatus,
    /// Soft-deleted carts are never matched.
    pub deleted: bool,
    pub last_activity_at: DateTime<Utc>,
}

/// Picks the order's cart among the candidates its keys found (any order, any mix).
///
/// A session or token match names the cart exactly, so it wins even when that cart
/// is already closed (the order then changes nothing there). An email only says
/// whose cart it might be: it matches open carts only, active inside the window
/// before the order, and the newest of them wins.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use cartback_domain::{CartCandidate, CartStatus, MatchedBy, match_order};
/// let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
/// let cart = |id, found_by, hours_ago| CartCandidate {
///     id, found_by, status: CartStatus::Abandoned, deleted: false,
///     last_activity_at: now - TimeDelta::hours(hours_ago),
/// };
/// let found = [cart("old", MatchedBy::Email, 30), cart("new", MatchedBy::Email, 3)];
/// assert_eq!(match_order(&found, now, TimeDelta::days(7)).map(|c| c.id), Some("new"));
/// let found = [cart("by-email", MatchedBy::Email, 1), cart("by-token", MatchedBy::CartToken, 50)];
/// assert_eq!(match_order(&found, now, TimeDelta::days(7)).map(|c| c.id), Some("by-token"));
/// ```
pub fn match_order<Id: Clone>(
    candidates: &[CartCandidate<Id>],
    ordered_at: DateTime<Utc>,
    window: TimeDelta,
) -> Option<&CartCandidate<Id>> {
    let exact = |key: MatchedBy| {
        candidates
            .iter()
            .filter(|c| c.found_by == key && !c.deleted)
            .max_by_key(|c| c.last_activity_at)
    };
    exact(MatchedBy::Session)
        .or_else(|| exact(MatchedBy::CartId))
        .or_else(|| exact(MatchedBy::CartToken))
        .or_else(|| {
            candidates
                .iter()
                .filter(|c| {
                    c.found_by == MatchedBy::Email
                        && !c.deleted
                        && c.status.is_open()
                        && c.last_activity_at <= ordered_at
                        && ordered_at - c.last_activity_at <= window
                })
                .max_by_key(|c| c.last_activity_at)
        })
}

/// Revenue credited to recovery emails: the order total in the order's currency
/// when the cart was recovered, nothing otherwise.
pub fn recovered_revenue(status: CartStatus, order_total_minor: Option<i64>) -> Option<i64> {
    (status == CartStatus::Recovered).then_some(order_total_minor.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AttributionMode, RecoveryHistory, on_order};
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn base() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    fn status() -> impl Strategy<Value = CartStatus> {
        prop_oneof![
            Just(CartStatus::Active),
            Just(CartStatus::Abandoned),
            Just(CartStatus::Recovered),
            Just(CartStatus::Converted),
            Just(CartStatus::Expired),
        ]
    }

    fn key() -> impl Strategy<Value = MatchedBy> {
        prop_oneof![
            Just(MatchedBy::Session),
            Just(MatchedBy::CartId),
            Just(MatchedBy::CartToken),
            Just(MatchedBy::Email),
        ]
    }

    fn candidates() -> impl Strategy<Value = Vec<CartCandidate<usize>>> {
        prop::collection::vec((key(), status(), any::<bool>(), 0i64..400), 0..8).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(
                    |(id, (found_by, status, deleted, hours_ago))| CartCandidate {
                        id,
                        found_by,
                        status,
                        deleted,
                        last_activity_at: base() - TimeDelta::hours(hours_ago),
                    },
                )
                .collect()
        })
    }

    proptest! {
        #[test]
        fn the_strongest_key_wins(found in candidates()) {
            let window = TimeDelta::days(7);
            let chosen = match_order(&found, base(), window);
            let live = |k: MatchedBy| found.iter().any(|c| c.found_by == k && !c.deleted);
            match chosen {
                Some(c) => {
                    prop_assert!(!c.deleted);
                    if live(MatchedBy::Session) {
                        prop_assert_eq!(c.found_by, MatchedBy::Session);
                    } else if live(MatchedBy::CartId) {
                        prop_assert_eq!(c.found_by, MatchedBy::CartId);
                    } else if live(MatchedBy::CartToken) {
                        prop_assert_eq!(c.found_by, MatchedBy::CartToken);
                    } else {
                        prop_assert_eq!(c.found_by, MatchedBy::Email);
                        prop_assert!(c.status.is_open());
                        prop_assert!(base() - c.last_activity_at <= window);
                        // Newest of the eligible email matches.
                        for other in &found {
                            if other.found_by == MatchedBy::Email && !other.deleted
                                && other.status.is_open()
                                && base() - other.last_activity_at <= window {
                                prop_assert!(other.last_activity_at <= c.last_activity_at);
                            }
                        }
                    }
                }
                None => {
                    prop_assert!(!live(MatchedBy::Session) && !live(MatchedBy::CartId)
                        && !live(MatchedBy::CartToken));
                    prop_assert!(!found.iter().any(|c| c.found_by == MatchedBy::Email
                        && !c.deleted && c.status.is_open()
                        && base() - c.last_activity_at <= window));
                }
            }
        }

        /// Recovered needs a qualifying touch before the order inside the window;
        /// a closed cart is never closed again; an open cart becomes exactly one of
        /// recovered or converted, and only recovered carts credit revenue.
        #[test]
        fn an_order_closes_a_cart_once(
            current in status(),
            sent_hours_ago in prop::option::of(-48i64..400),
            clicked_hours_ago in prop::option::of(-48i64..400),
            clicked_mode in any::<bool>(),
            total in prop::option::of(0i64..10_000_000),
        ) {
            let now = base();
            let at = |h: Option<i64>| h.map(|h| now - TimeDelta::hours(h));
            let history = RecoveryHistory {
                emails_sent: u32::from(sent_hours_ago.is_some()),
                first_sent_at: at(sent_hours_ago),
                last_sent_at: at(sent_hours_ago),
                last_clicked_at: if sent_hours_ago.is_some() { at(clicked_hours_ago) } else { None },
            };
            let mode = if clicked_mode { AttributionMode::Clicked } else { AttributionMode::Sent };
            let window = TimeDelta::days(7);
            let result = on_order(current, &history, mode, window, now);
            if current.is_terminal() {
                prop_assert_eq!(result, None);
                return Ok(());
            }
            let status = result.unwrap();
            let touch = if clicked_mode { history.last_clicked_at } else { history.last_sent_at };
            let qualifies = touch.is_some_and(|t| t <= now && now - t <= window);
            prop_assert_eq!(status == CartStatus::Recovered, qualifies);
            prop_assert!(matches!(status, CartStatus::Recovered | CartStatus::Converted));
            prop_assert_eq!(recovered_revenue(status, total).is_some(), qualifies);
            if qualifies {
                prop_assert_eq!(recovered_revenue(status, total), Some(total.unwrap_or(0)));
            }
        }
    }

    #[test]
    fn email_matches_skip_closed_stale_and_deleted_carts() {
        let now = base();
        let c = |id, status, deleted, hours_ago| CartCandidate {
            id,
            found_by: MatchedBy::Email,
            status,
            deleted,
            last_activity_at: now - TimeDelta::hours(hours_ago),
        };
        let found = [
            c("closed", CartStatus::Converted, false, 1),
            c("deleted", CartStatus::Abandoned, true, 2),
            c("stale", CartStatus::Abandoned, false, 24 * 8),
            c("future", CartStatus::Active, false, -1),
        ];
        assert_eq!(match_order(&found, now, TimeDelta::days(7)), None);
        let found = [c("ok", CartStatus::Active, false, 24 * 6), found[0].clone()];
        assert_eq!(
            match_order(&found, now, TimeDelta::days(7)).map(|c| c.id),
            Some("ok")
        );
    }

    #[test]
    fn stored_names_read_back_as_their_variant_and_nothing_else() {
        for key in [
            MatchedBy::Session,
            MatchedBy::CartId,
            MatchedBy::CartToken,
            MatchedBy::Email,
        ] {
            assert_eq!(MatchedBy::parse(key.as_str()), Some(key));
            assert_eq!(serde_json::to_value(key).unwrap(), key.as_str());
        }
        for source in [OrderSource::Track, OrderSource::Stripe] {
            assert_eq!(OrderSource::parse(source.as_str()), Some(source));
        }
        assert_eq!(MatchedBy::parse("Session"), None);
        assert_eq!(OrderSource::parse("shopify"), None);
    }
}
