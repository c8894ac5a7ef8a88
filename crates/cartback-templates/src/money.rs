//! Prices as shoppers read them, without ICU: a small hand-written table.
//!
//! | locale            | example            | notes                                    |
//! |-------------------|--------------------|------------------------------------------|
//! | en (any region)   | `$1,234.50`        | symbol first, no space                   |
//! | de                | `1.234,50 €`       |                                          |
//! | de-AT             | `€ 1.234,50`       |                                          |
//! | de-CH, de-LI      | `CHF 1’234.50`     | apostrophe groups                        |
//! | fr                | `1 234,50 €`       | U+202F narrow no-break space groups      |
//! | nl                | `€ 1.234,50`       |                                          |
//! | es                | `1234,50 €`        | no group below 10 000 (`12.345,50 €`)    |
//! | es-MX, es-US, es-419 | `$1,234.50`     |                                          |
//! | ja                | `￥1,235`           |                                          |
//! | anything else     | as en              |                                          |
//!
//! The space between an amount and its symbol is U+00A0 (no-break space), so a
//! price never wraps. A currency without a symbol in the table is written with
//! its ISO code after the amount (`1,234.50 CHF`, `1.234,50 CHF`), or before it
//! where the locale puts symbols first with a space (`CHF 1.234,50` in nl).
//! Decimals always follow the currency: 0 for JPY, 3 for KWD.

use cartback_domain::{Currency, Money};

use crate::locale::LanguageTag;

const NBSP: &str = "\u{a0}";
const NNBSP: &str = "\u{202f}";

/// Where the currency goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// `$1.00`
    Before,
    /// `€ 1,00`
    BeforeSpaced,
    /// `1,00 €`
    AfterSpaced,
}

#[derive(Clone, Copy)]
struct Style {
    decimal: &'static str,
    group: &'static str,
    /// Integer digits needed before grouping starts: 4 for most, 5 for Spanish.
    min_grouped_digits: usize,
    placement: Placement,
}

const EN: Style = Style {
    decimal: ".",
    group: ",",
    min_grouped_digits: 4,
    placement: Placement::Before,
};

fn style(tag: &LanguageTag) -> Style {
    let region = tag.region.as_deref();
    match (tag.language.as_str(), region) {
        ("de", Some("AT")) => Style {
            placement: Placement::BeforeSpaced,
            ..style_of("de")
        },
        ("de", Some("CH" | "LI")) => Style {
            decimal: ".",
            group: "’",
            min_grouped_digits: 4,
            placement: Placement::BeforeSpaced,
        },
        ("es", Some("MX" | "US" | "419")) => EN,
        (language, _) => style_of(language),
    }
}

fn style_of(language: &str) -> Style {
    match language {
        "de" => Style {
            decimal: ",",
            group: ".",
            min_grouped_digits: 4,
            placement: Placement::AfterSpaced,
        },
        "fr" => Style {
            decimal: ",",
            group: NNBSP,
            min_grouped_digits: 4,
            placement: Placement::AfterSpaced,
        },
        "nl" => Style {
            decimal: ",",
            group: ".",
            min_grouped_digits: 4,
            placement: Placement::BeforeSpaced,
        },
        "es" => Style {
            decimal: ",",
            group: ".",
            min_grouped_digits: 5,
            placement: Placement::AfterSpaced,
        },
        _ => EN,
    }
}

/// The symbol of `currency` for readers of `tag`, when the table knows one.
fn symbol(currency: Currency, tag: &LanguageTag) -> Option<&'static str> {
    let language = tag.language.as_str();
    let region = tag.region.as_deref();
    Some(match currency.code() {
        "EUR" => "€",
        "GBP" => "£",
        "USD" => match (language, region) {
            ("en", None | Some("US")) | ("es", Some("US")) | ("de" | "ja", _) => "$",
            ("fr", _) => "$US",
            _ => "US$",
        },
        "JPY" => match language {
            "ja" => "￥",
            _ => "¥",
        },
        "CAD" => match region {
            Some("CA") => "$",
            _ => "CA$",
        },
        "AUD" => match region {
            Some("AU") => "$",
            _ => "A$",
        },
        "MXN" => match region {
            Some("MX") => "$",
            _ => "MX$",
        },
        _ => return None,
    })
}

/// `amount` written for a reader of `locale` (a BCP 47 tag; `_` accepted).
///
/// ```
/// use cartback_domain::{Currency, Money};
/// use cartback_templates::format_money;
/// let price = Money::from_minor(123_450, Currency::EUR);
/// assert_eq!(format_money(price, "de-DE"), "1.234,50\u{a0}€");
/// assert_eq!(format_money(Money::from_minor(123_450, Currency::USD), "en-US"), "$1,234.50");
/// ```
pub fn format_money(amount: Money, locale: &str) -> String {
    let tag = LanguageTag::parse(locale);
    let style = style(&tag);
    let number = format_number(amount, &style);
    let sign = if amount.is_negative() { "-" } else { "" };
    match symbol(amount.currency(), &tag) {
        Some(symbol) => match style.placement {
            Placement::Before => format!("{sign}{symbol}{number}"),
            Placement::BeforeSpaced => format!("{symbol}{NBSP}{sign}{number}"),
            Placement::AfterSpaced => format!("{sign}{number}{NBSP}{symbol}"),
        },
        None => {
            let code = amount.currency().code();
            match style.placement {
                Placement::BeforeSpaced => format!("{code}{NBSP}{sign}{number}"),
                Placement::Before | Placement::AfterSpaced => format!("{sign}{number}{NBSP}{code}"),
            }
        }
    }
}

/// The absolute amount with the locale's separators and the currency's decimals.
fn format_number(amount: Money, style: &Style) -> String {
    let exponent = amount.currency().exponent() as usize;
    let digits = amount.minor().unsigned_abs().to_string();
    let padded = format!("{digits:0>width$}", width = exponent + 1);
    let (integer, fraction) = padded.split_at(padded.len() - exponent);
    let mut out = String::with_capacity(padded.len() + 8);
    if integer.len() >= style.min_grouped_digits {
        for (i, digit) in integer.chars().enumerate() {
            if i > 0 && (integer.len() - i) % 3 == 0 {
                out.push_str(style.group);
            }
            out.push(digit);
        }
    } else {
        out.push_str(integer);
    }
    if !fraction.is_empty() {
        out.push_str(style.decimal);
        out.push_str(fraction);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(minor: i64, code: &str, locale: &str) -> String {
        format_money(
            Money::from_minor(minor, Currency::parse(code).unwrap()),
            locale,
        )
        .replace('\u{a0}', "~")
        .replace('\u{202f}', "_")
    }

    #[test]
    fn the_table() {
        assert_eq!(fmt(123_450, "USD", "en-US"), "$1,234.50");
        assert_eq!(fmt(123_450, "GBP", "en-GB"), "£1,234.50");
        assert_eq!(fmt(123_450, "EUR", "de-DE"), "1.234,50~€");
        assert_eq!(fmt(123_450, "EUR", "de-AT"), "€~1.234,50");
        assert_eq!(fmt(123_450, "EUR", "fr-FR"), "1_234,50~€");
        assert_eq!(fmt(123_450, "EUR", "nl-NL"), "€~1.234,50");
        assert_eq!(fmt(123_450, "EUR", "es-ES"), "1234,50~€");
        assert_eq!(fmt(1_234_550, "EUR", "es-ES"), "12.345,50~€");
        assert_eq!(fmt(123_450, "MXN", "es-MX"), "$1,234.50");
        assert_eq!(fmt(1235, "JPY", "ja"), "￥1,235");
        assert_eq!(fmt(1235, "JPY", "ja-JP"), "￥1,235");
        assert_eq!(fmt(1235, "JPY", "en-US"), "¥1,235");
    }

    #[test]
    fn decimals_follow_the_currency() {
        assert_eq!(fmt(1_234_500, "KWD", "en-US"), "1,234.500~KWD");
        assert_eq!(fmt(5, "KWD", "de-DE"), "0,005~KWD");
        assert_eq!(fmt(7, "USD", "en-US"), "$0.07");
        assert_eq!(fmt(0, "EUR", "nl"), "€~0,00");
        assert_eq!(fmt(1_000_000, "JPY", "ja"), "￥1,000,000");
    }

    #[test]
    fn unknown_currencies_use_the_code() {
        assert_eq!(fmt(123_450, "CHF", "en-US"), "1,234.50~CHF");
        assert_eq!(fmt(123_450, "CHF", "de-DE"), "1.234,50~CHF");
        assert_eq!(fmt(123_450, "CHF", "de-CH"), "CHF~1’234.50");
        assert_eq!(fmt(123_450, "CHF", "nl-NL"), "CHF~1.234,50");
        assert_eq!(fmt(123_450, "SEK", "fr"), "1_234,50~SEK");
    }

    #[test]
    fn symbols_depend_on_the_reader() {
        assert_eq!(fmt(100, "USD", "en"), "$1.00");
        assert_eq!(fmt(100, "USD", "en-GB"), "US$1.00");
        assert_eq!(fmt(100, "USD", "de-DE"), "1,00~$");
        assert_eq!(fmt(100, "USD", "fr-FR"), "1,00~$US");
        assert_eq!(fmt(100, "CAD", "en-CA"), "$1.00");
        assert_eq!(fmt(100, "CAD", "en-US"), "CA$1.00");
        assert_eq!(fmt(100, "AUD", "en_AU"), "$1.00");
    }

    #[test]
    fn unknown_locales_read_as_english() {
        assert_eq!(fmt(123_450, "EUR", "it-IT"), "€1,234.50");
        assert_eq!(fmt(123_450, "EUR", ""), "€1,234.50");
        assert_eq!(fmt(123_450, "EUR", "DE_de"), "1.234,50~€");
    }

    #[test]
    fn negatives_and_extremes() {
        assert_eq!(fmt(-150, "USD", "en-US"), "-$1.50");
        assert_eq!(fmt(-150, "EUR", "de"), "-1,50~€");
        assert_eq!(fmt(-150, "EUR", "nl"), "€~-1,50");
        assert_eq!(fmt(i64::MIN, "USD", "en"), "-$92,233,720,368,547,758.08");
    }
}
