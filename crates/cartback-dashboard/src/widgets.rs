//! Small pieces several pages show the same way: a cart's status badge, its
//! money, who its shopper is, and a copy-to-clipboard field.

use maud::{Markup, html};

use cartback_domain::{CartStatus, Currency, Money};
use cartback_store::carts::CartRow;

use crate::format;

/// The status as a coloured badge.
pub fn status_badge(status: CartStatus) -> Markup {
    let label = match status {
        CartStatus::Active => "Active",
        CartStatus::Abandoned => "Abandoned",
        CartStatus::Recovered => "Recovered",
        CartStatus::Converted => "Converted",
        CartStatus::Expired => "Expired",
    };
    html! { span class={ "badge status-" (status.as_str()) } { (label) } }
}

/// An amount of the cart's currency; a currency the domain does not know
/// (never stored by the api, but read defensively) shows its minor units.
pub fn money(minor: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Ok(currency) => format::money(&Money::from_minor(minor, currency)),
        Err(_) => format!("{minor} {currency}"),
    }
}

/// Who the shopper is, as far as the cart tells.
pub fn shopper(cart: &CartRow) -> &str {
    if cart.erased_at.is_some() {
        "Erased customer"
    } else if let Some(email) = &cart.customer_email {
        email
    } else {
        "Anonymous shopper"
    }
}

/// A read-only field with a Copy button (dashboard.js's clipboard helper;
/// without script the field can still be selected and copied by hand).
pub fn copy_field(id: &str, label: &str, value: &str) -> Markup {
    html! {
        div.copy-row {
            label.visually-hidden for=(id) { (label) }
            input.copy-field id=(id) type="text" readonly value=(value);
            button.button.small.js-copy type="button" data-copy=(id) hidden { "Copy" }
        }
    }
}
