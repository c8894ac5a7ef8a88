//! The OpenAPI shapes of input values whose rule a plain `#[schema(...)]`
//! attribute cannot state, built from the same tables the validators use, so
//! the document accepts exactly what the API accepts (schemathesis checks both
//! directions: valid data accepted, invalid data refused).

use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat,
};
use utoipa::openapi::{KnownFormat, RefOr, Type};

/// A pattern matching exactly one of `words`. The lists of currencies and
/// time zones are written this way rather than as `enum`: the same values, but
/// a fuzzer (schemathesis' coverage phase) sends every `enum` value of every
/// field once, hundreds of requests for lists this long.
fn one_of_words(words: impl Iterator<Item = impl AsRef<str>>) -> String {
    let mut pattern = String::from("^(");
    for (index, word) in words.enumerate() {
        if index > 0 {
            pattern.push('|');
        }
        for c in word.as_ref().chars() {
            if ".+*?()[]{}|^$\\".contains(c) {
                pattern.push('\\');
            }
            pattern.push(c);
        }
    }
    pattern.push_str(")$");
    pattern
}

/// An ISO 4217 code the domain knows (`Currency::parse` also takes lower case,
/// which the document leaves out: upper case is the spelling to send).
pub(crate) fn currency() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(one_of_words(
            cartback_domain::Currency::all().map(|c| c.code()),
        )))
        .description(Some(
            "An active ISO 4217 code (`USD`, `EUR`, `JPY`, …; the pattern lists them); default `USD`.",
        ))
        .into()
}

/// An IANA time-zone name the domain knows (`Europe/Amsterdam`); left out,
/// the default, `UTC`.
pub(crate) fn time_zone() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(one_of_words(cartback_domain::time_zone_names())))
        .description(Some(
            "An IANA time-zone name (`Europe/Amsterdam`; the pattern lists them); default `UTC`.",
        ))
        .into()
}

/// The same, or null (the default, `USD`).
pub(crate) fn optional_currency() -> Schema {
    nullable(currency())
}

/// The shopper's address: an email address, or `""` / null for none (the cart
/// is tracked but not emailed).
pub(crate) fn optional_email() -> Schema {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
                .max_length(Some(254)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(0)),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// A year the service stores, as the text of a date or time starts.
const YEAR: &str = "(19[7-9][0-9]|[2-9][0-9]{3})";

/// A time filter of the carts list: an RFC 3339 time or a date (a whole day
/// of the shop's time zone) written in the years 1970 to 9999, or unix seconds
/// up to the end of 9999.
pub(crate) fn list_instant() -> Schema {
    let text = |format: KnownFormat| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(format)))
            .pattern(Some(format!("^{YEAR}-")))
    };
    OneOfBuilder::new()
        .item(text(KnownFormat::DateTime))
        .item(text(KnownFormat::Date))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .maximum(Some(cartback_domain::bounds::far_future().timestamp())),
        )
        .description(Some(
            "RFC 3339 time (its `+` sent as `%2B`) or unix seconds, exclusive; or `YYYY-MM-DD`, a whole day of the shop's time zone, included by both `_after` and `_before`. In the years 1970 to 9999.",
        ))
        .into()
}

/// No control characters (`char::is_control`: U+0000–U+001F, U+007F–U+009F).
const NO_CONTROL: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";

/// An id a shop sends as a string (1–200 characters, no control characters)
/// or as an integer within 64 bits (`input::raw::id_text`).
pub(crate) fn string_or_integer() -> Schema {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(200))
                .pattern(Some(NO_CONTROL)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64))),
        )
        .into()
}

/// A list of such ids (products in a Reloadify cart): up to 500, or null.
pub(crate) fn ids_of_products() -> Schema {
    nullable(
        ArrayBuilder::new()
            .items(RefOr::T(string_or_integer()))
            .max_items(Some(cartback_domain::MAX_ITEMS_PER_CART))
            .into(),
    )
}

/// A shop's token or reference: 1 to 200 characters, no control characters;
/// or null.
pub(crate) fn optional_reference() -> Schema {
    nullable(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(200))
            .pattern(Some(NO_CONTROL))
            .into(),
    )
}

/// A cart's value as Reloadify sends it: a decimal string (`"134.95"`) or a
/// JSON number, not negative; or null. Its decimals may not exceed the
/// currency's (a rule between two fields, stated in the description).
pub(crate) fn reloadify_price() -> Schema {
    nullable(
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[0-9]+(\\.[0-9]+)?$")),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Number)
                    .minimum(Some(0)),
            )
            .into(),
    )
}

/// Up to 50 browser origins as `normalize_origin` reads them: http(s), a host
/// name (labels of letters, digits and `-`, dots between them) and an optional
/// port from 1 to 65535; letter case does not matter.
pub(crate) fn origins() -> Schema {
    let origin = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(cartback_domain::MAX_ORIGIN_LEN))
        .pattern(Some(
        "^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?$",
    ));
    ArrayBuilder::new().items(origin).max_items(Some(50)).into()
}

/// 1 to 5 different Stripe signing secrets: `whsec_` and 8 or more of letters,
/// digits and `_ + / = -`, 255 characters at most; or null to clear them.
pub(crate) fn webhook_secrets() -> Schema {
    let secret = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(255))
        .pattern(Some("^whsec_[A-Za-z0-9_+/=-]{8,}$"));
    let list = ArrayBuilder::new()
        .items(secret)
        .min_items(Some(1))
        .max_items(Some(5))
        .unique_items(true);
    nullable(list.into())
}

/// `schema`, or null.
fn nullable(schema: Schema) -> Schema {
    OneOfBuilder::new()
        .item(schema)
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// One attribute to write: `name` and at most one non-null `<type>Value` (the
/// others left out or null); with none, the attribute is removed
/// (`cartback_domain::parse_attribute`).
pub(crate) fn attribute_input() -> Schema {
    attribute_named([
        "stringValue",
        "integerValue",
        "dateValue",
        "datetimeValue",
        "booleanValue",
    ])
}

/// Reloadify's custom attributes (seed 004): the same attributes with the
/// value fields in snake case (`string_value`, …), up to 50, or null.
pub(crate) fn reloadify_attributes() -> Schema {
    nullable(
        ArrayBuilder::new()
            .items(RefOr::T(attribute_named([
                "string_value",
                "integer_value",
                "date_value",
                "datetime_value",
                "boolean_value",
            ])))
            .max_items(Some(50))
            .into(),
    )
}

/// An attribute whose string, integer, date, date-time and boolean value
/// fields are named `fields`, in that order.
fn attribute_named(fields: [&'static str; 5]) -> Schema {
    let name: Schema = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(64))
        .pattern(Some("^[A-Za-z0-9_.-]+$"))
        .into();
    let null = || ObjectBuilder::new().schema_type(Type::Null);
    let date = |format: KnownFormat| -> Schema {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(format)))
            .pattern(Some(format!("^{YEAR}-")))
            .into()
    };
    let [string, integer, day, instant, boolean] = fields;
    let values: [(&str, Schema); 5] = [
        (
            string,
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(1000))
                .into(),
        ),
        (
            integer,
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .into(),
        ),
        (day, date(KnownFormat::Date)),
        (instant, date(KnownFormat::DateTime)),
        (
            boolean,
            ObjectBuilder::new().schema_type(Type::Boolean).into(),
        ),
    ];
    let shape = |given: Option<&str>| {
        let mut object = ObjectBuilder::new()
            .property("name", name.clone())
            .required("name")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        for (field, schema) in &values {
            if Some(*field) == given {
                object = object.property(*field, schema.clone()).required(*field);
            } else {
                object = object.property(*field, null());
            }
        }
        object
    };
    let mut one_of = OneOfBuilder::new().item(shape(None));
    for (field, _) in &values {
        one_of = one_of.item(shape(Some(field)));
    }
    one_of.into()
}

/// Up to 50 attributes to write, or null for none.
pub(crate) fn attributes_input() -> Schema {
    nullable(
        ArrayBuilder::new()
            .items(RefOr::T(attribute_input()))
            .max_items(Some(50))
            .into(),
    )
}

/// An absolute http(s) URL naming a host, at most 2048 characters, without
/// whitespace or control characters; the scheme in any letter case.
const WEB_URL: &str = "^[Hh][Tt][Tt][Pp]([Ss])?://[^/\\s\\u0000-\\u001F\\u007F-\\u009F][^\\s\\u0000-\\u001F\\u007F-\\u009F]*$";

/// A URL as `cartback_webhooks::check_url` reads it (webhook endpoints,
/// providers' base URLs): http(s), a host name, a port, a path.
const TARGET_URL: &str = "^https?://([A-Za-z0-9-]+\\.)*[A-Za-z][A-Za-z0-9-]*(:[0-9]{1,4})?(/[^\\s\\u0000-\\u001F\\u007F-\\u009F]*)?$";

fn text(max: usize, pattern: &str) -> Schema {
    nullable(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(max))
            .pattern(Some(pattern))
            .into(),
    )
}

/// A required name: 1 to `max` characters with at least one that is not
/// blank, no control characters (the domain's `short_text`).
fn required_name(max: usize) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(NAMED_TEXT))
        .into()
}

/// Some text that is not blank, without control characters.
const NAMED_TEXT: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$";

/// The shop's name (`PUT /settings/shop`).
pub(crate) fn shop_name() -> Schema {
    required_name(200)
}

/// The sender's name, or null for the shop's name.
pub(crate) fn sender_name() -> Schema {
    nullable(required_name(100))
}

/// The recovery URL as `cartback_domain::validate_link` reads it (a lower-case
/// `http://` or `https://`, a host, no whitespace or control characters), or
/// null to remove it.
pub(crate) fn recovery_url() -> Schema {
    text(
        2048,
        "^https?://[^/\\s\\u0000-\\u001F\\u007F-\\u009F][^\\s\\u0000-\\u001F\\u007F-\\u009F]*$",
    )
}

/// An email address (not empty, not null).
pub(crate) fn email_address() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
        .max_length(Some(254))
        .into()
}

/// An email address, or null for none.
pub(crate) fn optional_email_address() -> Schema {
    nullable(email_address())
}

/// A BCP 47 language tag (`nl-NL`, `en`), not empty.
pub(crate) fn locale() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(35))
        .pattern(Some("^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$"))
        .into()
}

/// An API key's label: up to 100 characters without control characters;
/// blank or null for none.
pub(crate) fn key_label() -> Schema {
    text(100, NO_CONTROL)
}

/// `logoUrl` of the email settings.
pub(crate) fn logo_url() -> Schema {
    text(2048, WEB_URL)
}

/// `buttonText` and `senderName`: up to 200 characters, no control characters.
pub(crate) fn short_text() -> Schema {
    text(200, NO_CONTROL)
}

/// `footerAddress`: up to 500 characters; line breaks allowed, no other
/// control characters.
pub(crate) fn address_text() -> Schema {
    text(
        500,
        "^[^\\u0000-\\u0009\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$",
    )
}

/// The merchant's copy: locale → one entry per step, at most 50 locales of at
/// most 10 steps.
pub(crate) fn copy() -> Schema {
    let steps = ArrayBuilder::new()
        .items(utoipa::openapi::Ref::from_schema_name("StepCopy"))
        .max_items(Some(10));
    nullable(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::RefOr(
                Schema::from(steps).into(),
            )))
            .max_properties(Some(50))
            .into(),
    )
}

/// The copy in a merge patch: as [`copy`], with null for a locale to remove.
pub(crate) fn copy_patch() -> Schema {
    let steps = ArrayBuilder::new()
        .items(utoipa::openapi::Ref::from_schema_name("StepCopy"))
        .max_items(Some(10));
    nullable(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::RefOr(
                nullable(steps.into()).into(),
            )))
            .max_properties(Some(50))
            .into(),
    )
}

/// A time zone, or null for the default (`UTC`).
pub(crate) fn optional_time_zone() -> Schema {
    nullable(time_zone())
}

/// A provider's key or secret: 1–4096 visible ASCII characters (it travels in
/// a header or a signature).
pub(crate) fn provider_secret() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(4096))
        .pattern(Some("^[!-~]*$"))
        .into()
}

/// A provider's base URL (or SES endpoint), or null for the provider's own.
pub(crate) fn provider_url() -> Schema {
    text(2048, TARGET_URL)
}

/// A cart's own restore link (Reloadify's `recovery_url`), as
/// `validate_link` and `check_url` read it: http(s), a host name, a port, a
/// path; or null.
pub(crate) fn cart_link() -> Schema {
    text(2048, TARGET_URL)
}

/// An SMTP URL as `SmtpConfig::from_url` reads it: `smtp://` or `smtps://`,
/// user and password together or neither (percent-escapes allowed), a host,
/// a port from 1 to 65535, and the `tls` options.
pub(crate) fn smtp_url() -> Schema {
    const OPTION: &str = "(tls=(starttls|none|implicit|tls)|starttls=true)";
    const PORT: &str =
        "([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
    const USER: &str = "([A-Za-z0-9._~!$&'()*+,;=-]|%[0-7][0-9A-Fa-f])*";
    const PASSWORD: &str = "([A-Za-z0-9._~!$&'()*+,;=:-]|%[0-7][0-9A-Fa-f])*";
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(2048))
        .pattern(Some(format!(
            "^smtps?://({USER}:{PASSWORD}@)?[A-Za-z0-9][A-Za-z0-9.-]*(:{PORT})?/*(\\?{OPTION}(&{OPTION})*)?$"
        )))
        .into()
}

#[cfg(test)]
mod tests {
    use super::one_of_words;

    #[test]
    fn word_lists_are_escaped_alternations() {
        assert_eq!(
            one_of_words(["UTC", "Etc/GMT+1", "a.b"].iter()),
            "^(UTC|Etc/GMT\\+1|a\\.b)$"
        );
    }
}
