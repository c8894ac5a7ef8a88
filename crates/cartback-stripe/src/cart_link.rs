//! A payment link for one cart: the Checkout Session request for exactly what
//! the cart holds, with an expiry and an idempotency key that make a repeated
//! request within the minute return the same session. The api's
//! `POST /api/v1/carts/{id}/payment-link` and the dashboard's button both
//! build it here.

use cartback_domain::CartItem;

use crate::checkout::{CheckoutRequest, LineItem};

/// Stripe keeps a Checkout Session open 30 minutes to 24 hours.
pub const MIN_LINK_SECS: i64 = 1_800;
pub const MAX_LINK_SECS: i64 = 86_400;

/// The session's expiry (unix seconds) for a link made at `now` (unix
/// seconds) to live `lifetime` seconds. Stripe refuses a reused idempotency
/// key with different parameters, so the expiry is the same for every call
/// inside one minute: rounded down for long lifetimes (still ≥ 30 min), up for
/// short ones (still ≤ 24 h).
pub fn link_expiry(now: i64, lifetime: i64) -> i64 {
    let minute = now - now.rem_euclid(60);
    if lifetime - 60 >= MIN_LINK_SECS {
        minute + lifetime
    } else {
        minute + 60 + lifetime
    }
}

/// A cart's lines as Checkout line items.
pub fn line_items(items: &[CartItem]) -> Vec<LineItem> {
    items
        .iter()
        .map(|item| LineItem {
            name: item.name.clone(),
            unit_amount_minor: item.unit_price_minor,
            quantity: item.quantity,
            image_url: item.image_url.clone(),
        })
        .collect()
}

/// The cart a link is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLink<'a> {
    pub cart_id: &'a str,
    pub session_id: &'a str,
    pub customer_email: Option<&'a str>,
    pub currency: &'a str,
    pub items: &'a [CartItem],
    /// Where Stripe sends the shopper after paying (the Stripe settings').
    pub success_url: Option<&'a str>,
    /// Where Stripe sends the shopper who gives up.
    pub cancel_url: Option<&'a str>,
    /// The shop's recovery URL, for either page the settings leave unset.
    pub recovery_url: Option<&'a str>,
    /// When the cart last changed (unix seconds): a changed cart gets a new
    /// session rather than the one made for its old contents.
    pub updated_at: i64,
}

/// Why a cart gets no link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CartLinkError {
    #[error("the cart is empty")]
    EmptyCart,
    #[error(
        "no page to return to after payment: set successUrl with PUT /api/v1/integrations/stripe, or the tenant's recovery URL"
    )]
    NoReturnPage,
}

/// The Checkout Session request for `cart`, living `lifetime` seconds from
/// `now` (unix seconds), and its idempotency key.
pub fn cart_checkout(
    cart: CartLink<'_>,
    now: i64,
    lifetime: i64,
) -> Result<(CheckoutRequest, String), CartLinkError> {
    if cart.items.is_empty() {
        return Err(CartLinkError::EmptyCart);
    }
    let success_url = cart
        .success_url
        .or(cart.recovery_url)
        .ok_or(CartLinkError::NoReturnPage)?;
    let expires_at = link_expiry(now, lifetime);
    let key = format!(
        "paylink-{}-{}-{lifetime}-{expires_at}",
        cart.cart_id, cart.updated_at
    );
    let request = CheckoutRequest {
        client_reference_id: cart.cart_id.to_owned(),
        customer_email: cart.customer_email.map(str::to_owned),
        currency: cart.currency.to_owned(),
        line_items: line_items(cart.items),
        success_url: success_url.to_owned(),
        cancel_url: cart.cancel_url.or(cart.recovery_url).map(str::to_owned),
        metadata: vec![
            ("cart_id".to_owned(), cart.cart_id.to_owned()),
            ("session_id".to_owned(), cart.session_id.to_owned()),
        ],
        expires_at: Some(expires_at),
        discount_code_hint: None,
    };
    Ok((request, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_expiry_is_stable_within_a_minute_and_inside_stripes_limits() {
        for lifetime in [MIN_LINK_SECS, 3_600, MAX_LINK_SECS] {
            let start = 1_800_000_000;
            let first = link_expiry(start, lifetime);
            for offset in 0..60 {
                let now = start + offset;
                let at = link_expiry(now, lifetime);
                assert_eq!(at, first);
                let left = at - now;
                assert!(
                    (MIN_LINK_SECS..=MAX_LINK_SECS).contains(&left),
                    "{lifetime} {left}"
                );
            }
        }
    }

    fn cart<'a>(items: &'a [CartItem], recovery: Option<&'a str>) -> CartLink<'a> {
        CartLink {
            cart_id: "cart_1",
            session_id: "s-1",
            customer_email: Some("ann@example.com"),
            currency: "EUR",
            items,
            success_url: None,
            cancel_url: None,
            recovery_url: recovery,
            updated_at: 42,
        }
    }

    #[test]
    fn a_cart_becomes_one_checkout_request_with_a_stable_key() {
        let mug = [CartItem {
            id: "mug".to_owned(),
            name: "Mug".to_owned(),
            unit_price_minor: 1250,
            quantity: 2,
            image_url: None,
            url: None,
            variant_id: None,
        }];
        assert_eq!(
            cart_checkout(cart(&[], Some("https://s.example/ok")), 0, MAX_LINK_SECS),
            Err(CartLinkError::EmptyCart)
        );
        assert_eq!(
            cart_checkout(cart(&mug, None), 0, MAX_LINK_SECS),
            Err(CartLinkError::NoReturnPage)
        );
        let Ok((request, key)) = cart_checkout(
            cart(&mug, Some("https://s.example/ok")),
            1_800_000_030,
            MAX_LINK_SECS,
        ) else {
            panic!("a request");
        };
        assert_eq!(request.client_reference_id, "cart_1");
        assert_eq!(request.line_items.len(), 1);
        assert_eq!(request.success_url, "https://s.example/ok");
        assert_eq!(request.cancel_url.as_deref(), Some("https://s.example/ok"));
        assert_eq!(request.expires_at, Some(1_800_000_000 + MAX_LINK_SECS));
        assert_eq!(
            key,
            format!(
                "paylink-cart_1-42-{MAX_LINK_SECS}-{}",
                1_800_000_000 + MAX_LINK_SECS
            )
        );
    }
}
