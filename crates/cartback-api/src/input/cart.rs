//! A cart as the tracking contracts send it (Retake's CART_UPDATE, the public
//! capture, the merchant's upsert): items, total, currency and the shopper,
//! every field checked so one 422 names every problem.

use serde_json::value::RawValue;

use cartback_domain::{
    CartItem, Currency, CustomerName, EmailAddress, MAX_ITEMS_PER_CART, Money, SessionId,
    items_total, parse_locale, validate_item_id, validate_item_name, validate_link,
    validate_quantity, validate_unit_price,
};

use crate::input::Problems;
use crate::input::raw::{
    RawObject, id_text, is_null, number_text, optional_string, parse_object, required_string,
    whole_number,
};

pub(crate) fn money(
    text: &str,
    currency: Currency,
    path: &str,
    problems: &mut Problems,
) -> Option<Money> {
    match Money::parse_major(text, currency) {
        Ok(m) => Some(m),
        Err(error) => {
            problems.add(path, error.to_string());
            None
        }
    }
}

/// The `total` field: an exact amount of zero or more.
pub(crate) fn non_negative_total(
    text: &str,
    currency: Currency,
    problems: &mut Problems,
) -> Option<Money> {
    let total = money(text, currency, "total", problems)?;
    if let Err(message) = cartback_domain::bounds::check_amount(total.minor()) {
        problems.add("total", message);
        return None;
    }
    Some(total)
}

/// An id a storefront may send as a string or as an integer.
pub(crate) fn item_id(
    object: &RawObject<'_>,
    path: &str,
    problems: &mut Problems,
) -> Option<String> {
    let Some(value) = object.get("id").filter(|v| !is_null(v)) else {
        problems.add(path, "is required");
        return None;
    };
    let Some(raw) = id_text(value) else {
        problems.add(path, "must be a string or an integer");
        return None;
    };
    match validate_item_id(&raw) {
        Ok(id) => Some(id),
        Err(e) => {
            problems.add(path, e.to_string());
            None
        }
    }
}

/// An item's required `price`: an exact amount in `currency`, in minor units.
pub(crate) fn unit_price(
    object: &RawObject<'_>,
    path: &str,
    currency: Currency,
    problems: &mut Problems,
) -> Option<i64> {
    match number_text(object, "price", path, problems) {
        Some(text) => money(text, currency, path, problems).and_then(|m| {
            validate_unit_price(m)
                .map_err(|e| problems.add(path, e.to_string()))
                .ok()
        }),
        None => {
            if !object.contains_key("price") {
                problems.add(path, "is required");
            }
            None
        }
    }
}

pub(crate) fn parse_item(
    value: &RawValue,
    index: usize,
    currency: Currency,
    problems: &mut Problems,
) -> Option<CartItem> {
    let base = format!("items[{index}]");
    let Some(object) = parse_object(value) else {
        problems.add(base, "must be an object");
        return None;
    };
    let before = problems.len();
    let id = item_id(&object, &format!("{base}.id"), problems);
    let name =
        optional_string(&object, "name", &format!("{base}.name"), problems).unwrap_or_default();
    let name = match validate_item_name(&name) {
        Ok(name) => Some(name),
        Err(e) => {
            problems.add(format!("{base}.name"), e.to_string());
            None
        }
    };
    let price = unit_price(&object, &format!("{base}.price"), currency, problems);
    let quantity_path = format!("{base}.quantity");
    let quantity = quantity(&object, &quantity_path, problems);
    let mut link = |field: &str, keys: &[&str]| -> Option<String> {
        let key = keys.iter().find(|k| object.contains_key(**k))?;
        let path = format!("{base}.{key}");
        let text = optional_string(&object, key, &path, problems)?;
        validate_link(&text)
            .map_err(|e| problems.add(&path, e.to_string()))
            .ok()
            .filter(|_| !field.is_empty())
    };
    let image_url = link("image", &["imageUrl", "image_url", "image"]);
    let url = link("url", &["url", "productUrl"]);
    if problems.len() > before {
        return None;
    }
    Some(CartItem {
        id: id?,
        name: name?,
        unit_price_minor: price?,
        quantity: quantity?,
        image_url,
        url,
        variant_id: None,
    })
}

/// An item's `quantity`: a whole number (`2` or `2.0`) from 1 to 1,000,000.
pub(crate) fn quantity(object: &RawObject<'_>, path: &str, problems: &mut Problems) -> Option<u32> {
    let Some(value) = object.get("quantity").filter(|v| !is_null(v)) else {
        problems.add(path, "is required");
        return None;
    };
    let Some(q) = whole_number(value) else {
        problems.add(path, "must be a whole number");
        return None;
    };
    validate_quantity(q)
        .map_err(|e| problems.add(path, e.to_string()))
        .ok()
}

/// The `currency` field, or the shop's default currency when there is none.
pub(crate) fn parse_currency(
    object: &RawObject<'_>,
    default: Currency,
    problems: &mut Problems,
) -> Currency {
    match optional_string(object, "currency", "currency", problems) {
        Some(code) => Currency::parse(&code).unwrap_or_else(|e| {
            problems.add("currency", e.to_string());
            default
        }),
        None => default,
    }
}

pub(crate) fn parse_session(object: &RawObject<'_>, problems: &mut Problems) -> Option<SessionId> {
    let text = required_string(object, "sessionId", "sessionId", problems)?;
    SessionId::parse(&text)
        .map_err(|e| problems.add("sessionId", e.to_string()))
        .ok()
}

/// The array at `key` (reported as `path`), each element checked by `parse`;
/// None when absent, not an array, too long, or any element was wrong.
pub(crate) fn item_list<T>(
    object: &RawObject<'_>,
    key: &str,
    path: &str,
    problems: &mut Problems,
    mut parse: impl FnMut(&RawValue, usize, &mut Problems) -> Option<T>,
) -> Option<Vec<T>> {
    let Some(raw) = object.get(key).filter(|v| !is_null(v)) else {
        problems.add(path, "is required");
        return None;
    };
    match serde_json::from_str::<Vec<&RawValue>>(raw.get()) {
        Err(_) => {
            problems.add(path, "must be an array");
            None
        }
        Ok(list) if list.len() > MAX_ITEMS_PER_CART => {
            problems.add(
                path,
                format!(
                    "at most {MAX_ITEMS_PER_CART} items per cart, got {}",
                    list.len()
                ),
            );
            None
        }
        Ok(list) => {
            let parsed: Vec<Option<T>> = list
                .iter()
                .enumerate()
                .map(|(i, v)| parse(v, i, problems))
                .collect();
            parsed.into_iter().collect()
        }
    }
}

/// A CART_UPDATE's cart, validated.
pub(crate) struct ParsedCart {
    pub session: Option<SessionId>,
    pub items: Vec<CartItem>,
    pub total: Money,
    /// The storefront's own subtotal in minor units (the public capture's
    /// `subtotalInCents`), kept as given.
    pub subtotal: Option<i64>,
    pub currency: Currency,
    pub email: Option<EmailAddress>,
    pub name: Option<CustomerName>,
    pub locale: Option<String>,
    pub consent: Option<bool>,
}

/// Checks a CART_UPDATE's cart fields (everything but `event`), adding every
/// problem to `problems`; None when any field was wrong.
pub(crate) fn parse_cart(
    object: &RawObject<'_>,
    problems: &mut Problems,
    session_required: bool,
    default_currency: Currency,
) -> Option<ParsedCart> {
    let before = problems.len();
    let session = if session_required {
        parse_session(object, problems)
    } else {
        optional_session(object, problems)
    };
    let currency = parse_currency(object, default_currency, problems);
    let items = item_list(object, "items", "items", problems, |v, i, problems| {
        parse_item(v, i, currency, problems)
    });
    let total = match number_text(object, "total", "total", problems) {
        Some(text) => non_negative_total(text, currency, problems),
        None => {
            if !object.contains_key("total") {
                // Retake requires it; we can work it out when a client leaves it out.
                items
                    .as_ref()
                    .and_then(|items| items_total(items, currency).ok())
            } else {
                None
            }
        }
    };
    let email = optional_string(object, "customerEmail", "customerEmail", problems)
        .filter(|e| !e.trim().is_empty())
        .and_then(|e| {
            EmailAddress::parse(&e)
                .map_err(|err| problems.add("customerEmail", err.to_string()))
                .ok()
        });
    let name = optional_string(object, "customerName", "customerName", problems)
        .filter(|n| !n.trim().is_empty())
        .and_then(|n| {
            CustomerName::parse(&n)
                .map_err(|err| problems.add("customerName", err.to_string()))
                .ok()
        });
    let locale = optional_locale(object, "locale", problems);
    let consent = match object.get("consent").filter(|v| !is_null(v)) {
        None => None,
        Some(value) => match value.get() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                problems.add("consent", "must be true or false");
                None
            }
        },
    };
    if problems.len() > before {
        return None;
    }
    Some(ParsedCart {
        session,
        items: items?,
        total: total?,
        subtotal: None,
        currency,
        email,
        name,
        locale,
        consent,
    })
}

/// A shopper's `locale`: a BCP 47 tag (normalised), or `""` / null for none.
/// Spaces around a tag are refused, not trimmed: the document's pattern has
/// none, and a tag is never typed by hand.
pub(crate) fn optional_locale(
    object: &RawObject<'_>,
    field: &str,
    problems: &mut Problems,
) -> Option<String> {
    let text = optional_string(object, field, field, problems).filter(|l| !l.is_empty())?;
    let parsed = if text.trim() == text {
        parse_locale(&text).map_err(|e| e.to_string())
    } else {
        Err("must not start or end with spaces".to_owned())
    };
    parsed.map_err(|e| problems.add(field, e)).ok()
}

pub(crate) fn optional_session(
    object: &RawObject<'_>,
    problems: &mut Problems,
) -> Option<SessionId> {
    if object.get("sessionId").is_none_or(|v| is_null(v)) {
        return None;
    }
    parse_session(object, problems)
}
