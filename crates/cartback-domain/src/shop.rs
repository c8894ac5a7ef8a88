//! A shop's own settings: its name, where recovery links lead, who the emails
//! come from, its time zone, and the currency and language it falls back to.
//! The JSON API (`PUT /api/v1/settings/shop`) and the dashboard's Sending page
//! change them through [`ShopSettings::edited`], so both accept and refuse the
//! same values with the same words.

use crate::currency::Currency;
use crate::email_address::EmailAddress;
use crate::error::InvalidValue;
use crate::item::validate_link;
use crate::locale::parse_locale;
use crate::quiet_hours::parse_time_zone;

/// Longest shop name, in characters.
pub const MAX_SHOP_NAME_CHARS: usize = 200;
/// Longest sender display name, in characters.
pub const MAX_SENDER_NAME_CHARS: usize = 100;

/// The settings as they stand, every value valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopSettings {
    pub name: String,
    /// Where the links of recovery emails lead (the shop's cart page).
    pub recovery_url: Option<String>,
    pub from_email: String,
    pub from_name: Option<String>,
    pub reply_to: Option<String>,
    /// IANA name; the days of reports and the quiet hours are in it.
    pub time_zone: String,
    /// The currency of a tracked cart that names none.
    pub default_currency: Currency,
    /// The language of a cart that carries none (BCP 47).
    pub default_locale: String,
}

/// What a change does to one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Edit<'a> {
    /// Left out: stays as it is.
    #[default]
    Keep,
    /// `null`, or an empty form field: cleared (refused for a required field).
    Clear,
    Set(&'a str),
}

impl<'a> Edit<'a> {
    /// A form field: empty (after trimming) clears, anything else sets.
    pub fn from_form(text: &'a str) -> Edit<'a> {
        if text.trim().is_empty() {
            Edit::Clear
        } else {
            Edit::Set(text)
        }
    }
}

/// A change to some of the settings; the field names of its errors are the
/// JSON API's (`recoveryUrl`, `fromEmail`, …).
#[derive(Debug, Clone, Copy, Default)]
pub struct ShopSettingsEdit<'a> {
    pub name: Edit<'a>,
    pub recovery_url: Edit<'a>,
    pub from_email: Edit<'a>,
    pub from_name: Edit<'a>,
    pub reply_to: Edit<'a>,
    pub time_zone: Edit<'a>,
    pub default_currency: Edit<'a>,
    pub default_locale: Edit<'a>,
}

/// A line of text a person typed: trimmed, within `max` characters, and
/// without control characters (it ends up in email headers).
fn short_text(text: &str, max: usize) -> Result<String, InvalidValue> {
    // Control characters are refused even at the ends, where trimming would
    // hide them: the document says "none", and a line break in a name is a
    // mistake, not padding.
    let untrimmed = text;
    let text = text.trim();
    let count = text.chars().count();
    if count == 0 || count > max {
        return Err(InvalidValue::new(format!("must be 1 to {max} characters")));
    }
    if untrimmed.chars().any(char::is_control) {
        return Err(InvalidValue::new(
            "must not contain control characters (line breaks, NUL)",
        ));
    }
    Ok(text.to_owned())
}

/// Longest label of an API key, in characters.
pub const MAX_KEY_LABEL_CHARS: usize = 100;

/// The label a merchant gives an API key ("storefront", "ERP"): trimmed, at
/// most [`MAX_KEY_LABEL_CHARS`], no control characters; blank means none.
///
/// ```
/// use cartback_domain::parse_key_label;
/// assert_eq!(parse_key_label(" ERP ").unwrap().as_deref(), Some("ERP"));
/// assert_eq!(parse_key_label("  ").unwrap(), None);
/// assert!(parse_key_label("a\nb").is_err());
/// ```
pub fn parse_key_label(text: &str) -> Result<Option<String>, InvalidValue> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    short_text(text, MAX_KEY_LABEL_CHARS).map(Some)
}

fn email(text: &str) -> Result<String, InvalidValue> {
    EmailAddress::parse(text).map(|address| address.as_str().to_owned())
}

fn time_zone(text: &str) -> Result<String, InvalidValue> {
    let text = text.trim();
    parse_time_zone(text).map(|zone| zone.name().to_owned())
}

fn required() -> InvalidValue {
    InvalidValue::new("is required")
}

impl ShopSettings {
    /// These settings with `edit` applied, or every problem with its field.
    ///
    /// ```
    /// use cartback_domain::{Currency, Edit, ShopSettings, ShopSettingsEdit};
    /// let shop = ShopSettings {
    ///     name: "Acme".into(),
    ///     recovery_url: None,
    ///     from_email: "shop@acme.example".into(),
    ///     from_name: None,
    ///     reply_to: None,
    ///     time_zone: "UTC".into(),
    ///     default_currency: Currency::USD,
    ///     default_locale: "en".into(),
    /// };
    /// let edit = ShopSettingsEdit {
    ///     recovery_url: Edit::Set("https://acme.example/cart"),
    ///     time_zone: Edit::Set("Europe/Amsterdam"),
    ///     ..ShopSettingsEdit::default()
    /// };
    /// let changed = shop.edited(&edit).unwrap();
    /// assert_eq!(changed.recovery_url.as_deref(), Some("https://acme.example/cart"));
    /// assert_eq!(changed.name, "Acme");
    ///
    /// let bad = ShopSettingsEdit {
    ///     reply_to: Edit::Set("not an address"),
    ///     default_currency: Edit::Set("EURO"),
    ///     ..ShopSettingsEdit::default()
    /// };
    /// let fields: Vec<_> = shop.edited(&bad).unwrap_err().into_iter().map(|e| e.field.unwrap()).collect();
    /// assert_eq!(fields, ["replyTo", "defaultCurrency"]);
    /// ```
    pub fn edited(&self, edit: &ShopSettingsEdit<'_>) -> Result<ShopSettings, Vec<InvalidValue>> {
        let mut problems = Vec::new();
        let mut next = self.clone();
        let mut required_field = |edit: Edit<'_>,
                                  field: &str,
                                  parse: &dyn Fn(&str) -> Result<String, InvalidValue>,
                                  slot: &mut String| {
            match edit {
                Edit::Keep => {}
                Edit::Clear => problems.push(required().at(field)),
                Edit::Set(text) => match parse(text) {
                    Ok(value) => *slot = value,
                    Err(error) => problems.push(error.at(field)),
                },
            }
        };
        required_field(
            edit.name,
            "name",
            &|t| short_text(t, MAX_SHOP_NAME_CHARS),
            &mut next.name,
        );
        required_field(edit.from_email, "fromEmail", &email, &mut next.from_email);
        required_field(edit.time_zone, "timeZone", &time_zone, &mut next.time_zone);
        required_field(
            edit.default_locale,
            "defaultLocale",
            &parse_locale,
            &mut next.default_locale,
        );
        let mut optional_field = |edit: Edit<'_>,
                                  field: &str,
                                  parse: &dyn Fn(&str) -> Result<String, InvalidValue>,
                                  slot: &mut Option<String>| {
            match edit {
                Edit::Keep => {}
                Edit::Clear => *slot = None,
                Edit::Set(text) => match parse(text) {
                    Ok(value) => *slot = Some(value),
                    Err(error) => problems.push(error.at(field)),
                },
            }
        };
        optional_field(
            edit.recovery_url,
            "recoveryUrl",
            // Untrimmed: the document allows no whitespace in a URL.
            &validate_link,
            &mut next.recovery_url,
        );
        optional_field(
            edit.from_name,
            "fromName",
            &|t| short_text(t, MAX_SENDER_NAME_CHARS),
            &mut next.from_name,
        );
        optional_field(edit.reply_to, "replyTo", &email, &mut next.reply_to);
        match edit.default_currency {
            Edit::Keep => {}
            Edit::Clear => problems.push(required().at("defaultCurrency")),
            Edit::Set(code) => match Currency::parse(code.trim()) {
                Ok(currency) => next.default_currency = currency,
                Err(error) => problems.push(error.at("defaultCurrency")),
            },
        }
        // Report in the order of the document, whatever order they were checked in.
        problems.sort_by_key(|p| field_order(p.field.as_deref()));
        if problems.is_empty() {
            Ok(next)
        } else {
            Err(problems)
        }
    }
}

/// Every field, in the order the API documents and the form shows them.
pub const SHOP_FIELDS: [&str; 8] = [
    "name",
    "recoveryUrl",
    "fromEmail",
    "fromName",
    "replyTo",
    "timeZone",
    "defaultCurrency",
    "defaultLocale",
];

fn field_order(field: Option<&str>) -> usize {
    field
        .and_then(|f| SHOP_FIELDS.iter().position(|known| *known == f))
        .unwrap_or(SHOP_FIELDS.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> ShopSettings {
        ShopSettings {
            name: "Acme".into(),
            recovery_url: Some("https://acme.example/cart".into()),
            from_email: "shop@acme.example".into(),
            from_name: Some("Acme".into()),
            reply_to: None,
            time_zone: "UTC".into(),
            default_currency: Currency::USD,
            default_locale: "en".into(),
        }
    }

    fn fields(result: Result<ShopSettings, Vec<InvalidValue>>) -> Vec<String> {
        result
            .unwrap_err()
            .into_iter()
            .map(|e| e.field.unwrap())
            .collect()
    }

    #[test]
    fn nothing_to_change_changes_nothing() {
        assert_eq!(shop().edited(&ShopSettingsEdit::default()).unwrap(), shop());
    }

    #[test]
    fn values_are_normalised() {
        let edit = ShopSettingsEdit {
            name: Edit::Set("  Acme Outlet "),
            from_email: Edit::Set(" Sales@ACME.example "),
            reply_to: Edit::Set("help@acme.example"),
            default_currency: Edit::Set("eur"),
            default_locale: Edit::Set("nl_nl"),
            from_name: Edit::Clear,
            recovery_url: Edit::Clear,
            ..ShopSettingsEdit::default()
        };
        let changed = shop().edited(&edit).unwrap();
        assert_eq!(changed.name, "Acme Outlet");
        assert_eq!(changed.from_email, "Sales@acme.example");
        assert_eq!(changed.reply_to.as_deref(), Some("help@acme.example"));
        assert_eq!(changed.default_currency, Currency::EUR);
        assert_eq!(changed.default_locale, "nl-NL");
        assert_eq!(changed.from_name, None);
        assert_eq!(changed.recovery_url, None);
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let long_url = format!("https://acme.example/{}", "a".repeat(2048));
        let long_name = "n".repeat(MAX_SHOP_NAME_CHARS + 1);
        let edit = ShopSettingsEdit {
            name: Edit::Set(&long_name),
            recovery_url: Edit::Set(&long_url),
            from_email: Edit::Clear,
            from_name: Edit::Set("Acme\r\nBcc: x@evil.example"),
            reply_to: Edit::Set("nobody"),
            time_zone: Edit::Set("Mars/Olympus_Mons"),
            default_currency: Edit::Set("XYZ"),
            default_locale: Edit::Set("not a locale"),
        };
        assert_eq!(fields(shop().edited(&edit)), SHOP_FIELDS);
    }

    #[test]
    fn links_must_be_http_and_required_fields_cannot_be_cleared() {
        let edit = ShopSettingsEdit {
            recovery_url: Edit::Set("javascript:alert(1)"),
            name: Edit::Clear,
            default_currency: Edit::Clear,
            ..ShopSettingsEdit::default()
        };
        assert_eq!(
            fields(shop().edited(&edit)),
            ["name", "recoveryUrl", "defaultCurrency"]
        );
        let nul = ShopSettingsEdit {
            name: Edit::Set("Ac\0me"),
            ..ShopSettingsEdit::default()
        };
        assert_eq!(fields(shop().edited(&nul)), ["name"]);
    }

    #[test]
    fn an_empty_form_field_clears() {
        assert_eq!(Edit::from_form("  "), Edit::Clear);
        assert_eq!(Edit::from_form("x"), Edit::Set("x"));
    }
}
