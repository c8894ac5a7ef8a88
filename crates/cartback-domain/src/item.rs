//! Cart items and their validation.

use serde::{Deserialize, Serialize};

use crate::currency::Currency;
use crate::error::InvalidValue;
use crate::money::{Money, MoneyError};

/// At most this many lines in one cart.
pub const MAX_ITEMS_PER_CART: usize = 500;
const MAX_QUANTITY: i64 = 1_000_000;
const MAX_LINK_LEN: usize = 2048;

/// One cart line. Prices are in minor units of the cart's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CartItem {
    pub id: String,
    pub name: String,
    pub unit_price_minor: i64,
    pub quantity: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The product's variant, when the storefront names it apart from the
    /// product (litecommerce's `variantId`); `id` stays the product's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant_id: Option<String>,
}

impl CartItem {
    /// Unit price × quantity.
    pub fn line_total(&self, currency: Currency) -> Result<Money, MoneyError> {
        Money::from_minor(self.unit_price_minor, currency).checked_mul(self.quantity)
    }
}

/// The sum of every line.
///
/// ```
/// use cartback_domain::{items_total, CartItem, Currency};
/// let mug = CartItem { id: "mug".into(), name: "Mug".into(), unit_price_minor: 1250, quantity: 2, image_url: None, url: None, variant_id: None };
/// assert_eq!(items_total(&[mug], Currency::USD).unwrap().minor(), 2500);
/// ```
pub fn items_total(items: &[CartItem], currency: Currency) -> Result<Money, MoneyError> {
    items.iter().try_fold(Money::zero(currency), |sum, item| {
        sum.checked_add(item.line_total(currency)?)
    })
}

fn no_control(s: &str) -> Result<(), InvalidValue> {
    if s.chars().any(char::is_control) {
        return Err(InvalidValue::new("must not contain control characters"));
    }
    Ok(())
}

/// 1 to 200 characters, no control characters.
pub fn validate_item_id(s: &str) -> Result<String, InvalidValue> {
    let count = s.chars().count();
    if count == 0 || count > 200 {
        return Err(InvalidValue::new("must be 1 to 200 characters"));
    }
    no_control(s)?;
    Ok(s.to_owned())
}

/// Up to 500 characters, no control characters.
pub fn validate_item_name(s: &str) -> Result<String, InvalidValue> {
    if s.chars().count() > 500 {
        return Err(InvalidValue::new("must be at most 500 characters"));
    }
    no_control(s)?;
    Ok(s.to_owned())
}

/// A whole number from 1 to 1,000,000.
pub fn validate_quantity(q: i64) -> Result<u32, InvalidValue> {
    if q < 1 {
        return Err(InvalidValue::new("quantity must be at least 1"));
    }
    if q > MAX_QUANTITY {
        return Err(InvalidValue::new(format!(
            "quantity must be at most {MAX_QUANTITY}"
        )));
    }
    u32::try_from(q).map_err(|_| InvalidValue::new("quantity is out of range"))
}

/// A unit price of zero or more.
pub fn validate_unit_price(m: Money) -> Result<i64, InvalidValue> {
    if m.is_negative() {
        return Err(InvalidValue::new("price must not be negative"));
    }
    // Bounded so a cart's sum stays checked money arithmetic, never an overflow.
    crate::bounds::check_amount(m.minor())
        .map_err(|message| InvalidValue::new(format!("price {message}")))
}

/// An absolute http(s) URL of at most 2048 characters, without whitespace.
pub fn validate_link(s: &str) -> Result<String, InvalidValue> {
    if s.chars().count() > MAX_LINK_LEN {
        return Err(InvalidValue::new(format!(
            "must be at most {MAX_LINK_LEN} characters"
        )));
    }
    if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(InvalidValue::new(
            "must not contain spaces or control characters",
        ));
    }
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(|| InvalidValue::new("must be an http or https URL"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(InvalidValue::new("must name a host"));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validations() {
        assert!(validate_quantity(0).is_err());
        assert!(validate_quantity(-1).is_err());
        assert_eq!(validate_quantity(3), Ok(3));
        assert!(validate_quantity(1_000_001).is_err());
        assert!(validate_unit_price(Money::from_minor(-1, Currency::USD)).is_err());
        assert_eq!(
            validate_unit_price(Money::from_minor(0, Currency::USD)),
            Ok(0)
        );
        assert!(validate_item_id("").is_err());
        assert!(validate_item_id(&"x".repeat(201)).is_err());
        assert!(validate_item_name("").is_ok());
        assert!(validate_link("https://shop.example/p/1").is_ok());
        assert!(validate_link("javascript:alert(1)").is_err());
        assert!(validate_link("https:///nohost").is_err());
    }
}
