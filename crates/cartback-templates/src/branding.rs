//! What a tenant customises: its look ([`Branding`]) and its words ([`StepCopy`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Part, TemplateError};
use crate::url::is_web_url;

const DEFAULT_BRAND_COLOR: &str = "#1a73e8";
const MAX_SHOP_NAME_CHARS: usize = 200;
const MAX_SHORT_TEXT_CHARS: usize = 200;
const MAX_ADDRESS_CHARS: usize = 500;

/// A brand colour: `#rgb` or `#rrggbb`, stored in lower case. Serialized as the
/// plain string, so a JSON field holding `"#1A73E8"` deserializes (and a bad one
/// is rejected by serde).
///
/// ```
/// use cartback_templates::BrandColor;
/// let c: BrandColor = "#1A73E8".parse().unwrap();
/// assert_eq!(c.as_str(), "#1a73e8");
/// assert_eq!(BrandColor::parse("#fc0").unwrap().as_str(), "#fc0");
/// assert!(BrandColor::parse("red").is_err());
/// assert!(BrandColor::parse("#12345").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BrandColor(String);

impl BrandColor {
    pub fn parse(text: &str) -> Result<BrandColor, TemplateError> {
        let trimmed = text.trim();
        let valid = trimmed.strip_prefix('#').is_some_and(|hex| {
            matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit())
        });
        if !valid {
            let shown: String = trimmed.chars().take(20).collect();
            return Err(TemplateError::invalid(
                Part::Branding,
                format!("brandColor {shown:?} must be a hex colour like #1a73e8 or #fc0"),
            ));
        }
        Ok(BrandColor(trimmed.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Red, green and blue, 0 to 255.
    pub fn rgb(&self) -> (u8, u8, u8) {
        let hex = &self.0[1..];
        let channel = |s: &str| u8::from_str_radix(s, 16).unwrap_or(0);
        if hex.len() == 3 {
            let one = |i: usize| channel(&hex[i..=i]) * 17;
            (one(0), one(1), one(2))
        } else {
            (
                channel(&hex[0..2]),
                channel(&hex[2..4]),
                channel(&hex[4..6]),
            )
        }
    }

    /// The text colour that reads best on this colour: white or near-black,
    /// whichever has the higher WCAG contrast ratio.
    ///
    /// ```
    /// use cartback_templates::BrandColor;
    /// assert_eq!(BrandColor::parse("#1a73e8").unwrap().text_color(), "#ffffff");
    /// assert_eq!(BrandColor::parse("#ffd600").unwrap().text_color(), "#111111");
    /// ```
    pub fn text_color(&self) -> &'static str {
        let l = self.luminance();
        // Contrast with white: 1.05 / (l + 0.05); with #111111 (luminance ~0.0056):
        // (l + 0.05) / 0.0556.
        let dark = 0.005_605;
        if 1.05 / (l + 0.05) >= (l + 0.05) / (dark + 0.05) {
            "#ffffff"
        } else {
            "#111111"
        }
    }

    /// This colour mixed with white: `amount` 0.0 is the colour, 1.0 is white.
    /// Used for soft backgrounds (the coupon box).
    pub fn tint(&self, amount: f64) -> String {
        let amount = amount.clamp(0.0, 1.0);
        let (r, g, b) = self.rgb();
        let mix = |c: u8| {
            let c = f64::from(c);
            // In range by construction: c and 255 are both within 0..=255.
            (c + (255.0 - c) * amount).round().clamp(0.0, 255.0) as u8
        };
        format!("#{:02x}{:02x}{:02x}", mix(r), mix(g), mix(b))
    }

    fn luminance(&self) -> f64 {
        let (r, g, b) = self.rgb();
        let linear = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    }
}

impl Default for BrandColor {
    fn default() -> Self {
        BrandColor(DEFAULT_BRAND_COLOR.to_owned())
    }
}

impl FromStr for BrandColor {
    type Err = TemplateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BrandColor::parse(s)
    }
}

impl TryFrom<String> for BrandColor {
    type Error = TemplateError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        BrandColor::parse(&value)
    }
}

impl From<BrandColor> for String {
    fn from(value: BrandColor) -> Self {
        value.0
    }
}

impl fmt::Display for BrandColor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tenant's look, shared by every design and by custom templates.
///
/// JSON: `{"shopName":"Acme","logoUrl":null,"brandColor":"#1a73e8","buttonText":null,
/// "senderName":null,"footerAddress":null}`; every field but `shopName` may be left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Branding {
    pub shop_name: String,
    /// An http(s) URL of the logo; without it the shop name is shown in text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    #[serde(default)]
    pub brand_color: BrandColor,
    /// Replaces the built-in button text of every step (a [`StepCopy`] wins over it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_text: Option<String>,
    /// Who signs the email ("Maria from Acme"); defaults to the shop's team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_name: Option<String>,
    /// Postal address shown in the footer (anti-spam laws often require one).
    /// Line breaks are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer_address: Option<String>,
}

impl Branding {
    /// Branding with just a shop name and the defaults.
    pub fn new(shop_name: impl Into<String>) -> Branding {
        Branding {
            shop_name: shop_name.into(),
            logo_url: None,
            brand_color: BrandColor::default(),
            button_text: None,
            sender_name: None,
            footer_address: None,
        }
    }

    /// Checks what serde cannot: a shop name, an http(s) logo URL and sane lengths.
    /// Every render calls it; an API should call it when the branding is saved.
    pub fn validate(&self) -> Result<(), TemplateError> {
        let name = self.shop_name.trim();
        if name.is_empty() {
            return Err(TemplateError::invalid(
                Part::Branding,
                "shopName must not be empty",
            ));
        }
        check_text("shopName", &self.shop_name, MAX_SHOP_NAME_CHARS, false)?;
        if let Some(url) = &self.logo_url
            && !is_web_url(url)
        {
            return Err(TemplateError::invalid(
                Part::Branding,
                "logoUrl must be an absolute http(s) URL",
            ));
        }
        if let Some(text) = &self.button_text {
            check_text("buttonText", text, MAX_SHORT_TEXT_CHARS, false)?;
        }
        if let Some(text) = &self.sender_name {
            check_text("senderName", text, MAX_SHORT_TEXT_CHARS, false)?;
        }
        if let Some(text) = &self.footer_address {
            check_text("footerAddress", text, MAX_ADDRESS_CHARS, true)?;
        }
        Ok(())
    }
}

fn check_text(field: &str, text: &str, max: usize, newlines: bool) -> Result<(), TemplateError> {
    if text.chars().count() > max {
        return Err(TemplateError::invalid(
            Part::Branding,
            format!("{field} must be at most {max} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !(newlines && (c == '\n' || c == '\r')))
    {
        return Err(TemplateError::invalid(
            Part::Branding,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(())
}

/// A merchant's own words for one step (and one locale), each replacing the
/// built-in text when set. `{shop}` in any of them is replaced by the shop name.
/// In `body`, a blank line starts a new paragraph.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepCopy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preheader: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_text: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_and_serialize_as_strings() {
        let b: Branding =
            serde_json::from_str(r##"{"shopName":"Acme","brandColor":"#ABCDEF"}"##).unwrap();
        assert_eq!(b.brand_color.as_str(), "#abcdef");
        assert_eq!(
            serde_json::to_value(&b).unwrap(),
            serde_json::json!({"shopName": "Acme", "brandColor": "#abcdef"})
        );
        let defaulted: Branding = serde_json::from_str(r#"{"shopName":"Acme"}"#).unwrap();
        assert_eq!(defaulted.brand_color.as_str(), "#1a73e8");
        for bad in ["red", "#ggg", "#1234", "1a73e8", "#1a73e8;x", "", "#"] {
            assert!(BrandColor::parse(bad).is_err(), "{bad}");
        }
        let err = serde_json::from_str::<Branding>(r#"{"shopName":"Acme","brandColor":"blue"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("brandColor"), "{err}");
    }

    #[test]
    fn colour_helpers() {
        let c = BrandColor::parse("#fc0").unwrap();
        assert_eq!(c.rgb(), (255, 204, 0));
        assert_eq!(c.text_color(), "#111111");
        assert_eq!(BrandColor::parse("#000").unwrap().text_color(), "#ffffff");
        assert_eq!(BrandColor::parse("#000000").unwrap().tint(0.5), "#808080");
        assert_eq!(BrandColor::parse("#1a73e8").unwrap().tint(0.0), "#1a73e8");
        assert_eq!(BrandColor::parse("#1a73e8").unwrap().tint(1.0), "#ffffff");
    }

    #[test]
    fn validation() {
        assert!(Branding::new("Acme").validate().is_ok());
        assert!(Branding::new("  ").validate().is_err());
        let mut b = Branding::new("Acme");
        b.logo_url = Some("javascript:alert(1)".into());
        assert!(b.validate().is_err());
        b.logo_url = Some("https://cdn.acme.test/logo.png".into());
        assert!(b.validate().is_ok());
        b.footer_address = Some("1 Main St\nSpringfield".into());
        assert!(b.validate().is_ok());
        b.sender_name = Some("Ann\u{7}".into());
        assert!(b.validate().is_err());
    }
}
