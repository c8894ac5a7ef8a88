//! `POST /api/v1/public/abandoned-carts`: cart capture from the shopper's
//! browser, in litecommerce's shape (`sessionId` + `snapshot` with integer
//! cents, answered by `{ok, wasCreated}`), authenticated by the tenant's
//! publishable key in `X-API-Key`, `Authorization: Bearer` or, for
//! `navigator.sendBeacon` which cannot set headers, `?key=pk_…`. The body may be
//! sent as `text/plain` (what sendBeacon and preflight-free fetches use). The
//! cart is stored exactly like a CART_UPDATE on `/api/v1/track`, through the
//! same group-commit writer. The answer never echoes an id or an email.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::value::RawValue;

use cartback_domain::{
    CartItem, Currency, CustomerName, EmailAddress, Money, SessionId, items_total,
    validate_item_id, validate_item_name, validate_link,
};

use cartback_store::api_keys::KeyKind;

use crate::auth::{Caller, authenticate_key, authenticate_request, presented_key};
use crate::error::{ApiError, ErrorCode};
use crate::input::Problems;
use crate::input::body::{malformed, read_body};
use crate::input::capture_links::{MIN_PUBLISHABLE_SESSION_CHARS, warnings};
use crate::input::cart::{ParsedCart, item_list};
use crate::input::raw::{RawObject, id_text, is_null, optional_string, parse_object, whole_number};
use crate::middleware::cors::enforce_origin;
use crate::routes::track::{screen_links, store_cart};
use crate::state::AppState;

/// Shortest session id a secret key may capture with here (litecommerce's rule;
/// `/track` takes 1). A publishable key needs [`MIN_PUBLISHABLE_SESSION_CHARS`].
const MIN_SESSION_CHARS: usize = 8;

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Captured {
    ok: bool,
    /// True when this call started the cart.
    was_created: bool,
    /// With a publishable key: how many item links (`url`, `imageUrl`) were
    /// dropped because they point outside the shop's allowed origins and its
    /// recovery URL's host. Left out when none were.
    #[serde(skip_serializing_if = "is_zero")]
    #[schema(value_type = u32, minimum = 1)]
    dropped_links: usize,
    /// One message per dropped link, naming it by path
    /// (`snapshot.items[0].url`). Left out when none were dropped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The key from the headers, else from `?key=` (publishable keys only: a secret
/// key must never travel in a URL, where logs and referrers keep it).
async fn caller(state: &AppState, request: &HttpRequest) -> Result<Caller, ApiError> {
    if presented_key(request).is_some() {
        return authenticate_request(state, request).await;
    }
    let from_query = request
        .query_string()
        .split('&')
        .find_map(|pair| pair.strip_prefix("key="))
        .filter(|key| !key.is_empty());
    match from_query {
        Some(key) if key.starts_with("pk_") => authenticate_key(state, key).await,
        Some(_) => Err(ApiError::new(
            ErrorCode::Unauthorized,
            "only a publishable key (pk_…) may be given in the query string",
        )),
        None => Err(ApiError::unauthorized()),
    }
}

/// A whole number of minor units (cents) of zero or more (`18900`, or
/// `18900.0` as JSON Schema counts integers); fractions and strings are
/// refused so an amount is never guessed.
fn cents(object: &RawObject<'_>, field: &str, path: &str, problems: &mut Problems) -> Option<i64> {
    let value = object.get(field).filter(|v| !is_null(v))?;
    let Some(n) = whole_number(value) else {
        problems.add(
            path,
            "must be a whole number of cents (minor units), like 18900 for 189.00",
        );
        return None;
    };
    if n < 0 {
        problems.add(path, "must not be negative");
        return None;
    }
    cartback_domain::bounds::check_amount(n)
        .map_err(|message| problems.add(path, message))
        .ok()
}

/// An id given as a string or an integer; None when absent.
fn loose_id(
    object: &RawObject<'_>,
    field: &str,
    path: &str,
    problems: &mut Problems,
) -> Option<String> {
    let value = object.get(field).filter(|v| !is_null(v))?;
    let id = id_text(value);
    if id.is_none() {
        problems.add(path, "must be a string or an integer");
    }
    id
}

fn parse_item(value: &RawValue, index: usize, problems: &mut Problems) -> Option<CartItem> {
    let base = format!("snapshot.items[{index}]");
    let Some(object) = parse_object(value) else {
        problems.add(base, "must be an object");
        return None;
    };
    let before = problems.len();
    let item_path = format!("{base}.itemId");
    let item_id = loose_id(&object, "itemId", &item_path, problems);
    let variant_path = format!("{base}.variantId");
    let variant_id = loose_id(&object, "variantId", &variant_path, problems);
    // The line keeps the product's id and its variant apart, as sent; a line
    // with neither is named by its place.
    let id = item_id.unwrap_or_else(|| format!("line-{}", index + 1));
    let id = validate_item_id(&id)
        .map_err(|e| problems.add(&item_path, e.to_string()))
        .ok();
    let variant_id = match variant_id {
        Some(variant) => match validate_item_id(&variant) {
            Ok(variant) => Some(Some(variant)),
            Err(e) => {
                problems.add(&variant_path, e.to_string());
                None
            }
        },
        None => Some(None),
    };
    let name_path = format!("{base}.name");
    let name = match optional_string(&object, "name", &name_path, problems) {
        Some(name) if name.trim().is_empty() => {
            problems.add(&name_path, "must not be empty");
            None
        }
        Some(name) => validate_item_name(&name)
            .map_err(|e| problems.add(&name_path, e.to_string()))
            .ok(),
        None => {
            if object.get("name").is_none_or(|v| is_null(v)) {
                problems.add(&name_path, "is required");
            }
            None
        }
    };
    let price_path = format!("{base}.unitPriceInCents");
    let price = cents(&object, "unitPriceInCents", &price_path, problems);
    if object.get("unitPriceInCents").is_none_or(|v| is_null(v)) {
        problems.add(&price_path, "is required");
    }
    let quantity_path = format!("{base}.quantity");
    let quantity = crate::input::cart::quantity(&object, &quantity_path, problems);
    let mut link = |field: &str| -> Option<String> {
        let path = format!("{base}.{field}");
        let text = optional_string(&object, field, &path, problems)?;
        validate_link(&text)
            .map_err(|e| problems.add(&path, e.to_string()))
            .ok()
    };
    let image_url = link("imageUrl");
    let url = link("url");
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
        variant_id: variant_id?,
    })
}

fn parse_session(
    object: &RawObject<'_>,
    min_chars: usize,
    problems: &mut Problems,
) -> Option<SessionId> {
    let Some(text) = optional_string(object, "sessionId", "sessionId", problems) else {
        if object.get("sessionId").is_none_or(|v| is_null(v)) {
            problems.add("sessionId", "is required");
        }
        return None;
    };
    let count = text.chars().count();
    if !(min_chars..=SessionId::MAX_CHARS).contains(&count) {
        let why = if min_chars >= MIN_PUBLISHABLE_SESSION_CHARS {
            " with a publishable key (a random id, like the 32 hex characters tracker.js makes)"
        } else {
            ""
        };
        problems.add(
            "sessionId",
            format!(
                "must be {min_chars} to {} characters{why}, got {count}",
                SessionId::MAX_CHARS
            ),
        );
        return None;
    }
    SessionId::parse(&text)
        .map_err(|e| problems.add("sessionId", e.to_string()))
        .ok()
}

/// The snapshot's items, value (its total, else its subtotal, else the sum
/// of its lines) and the subtotal as given.
fn parse_snapshot(
    object: &RawObject<'_>,
    default_currency: Currency,
    problems: &mut Problems,
) -> Option<(Vec<CartItem>, Money, Option<i64>)> {
    let Some(raw) = object.get("snapshot").filter(|v| !is_null(v)) else {
        problems.add("snapshot", "is required");
        return None;
    };
    let Some(snapshot) = parse_object(raw) else {
        problems.add("snapshot", "must be an object");
        return None;
    };
    let currency = match optional_string(&snapshot, "currency", "snapshot.currency", problems) {
        Some(code) => Currency::parse(&code)
            .map_err(|e| problems.add("snapshot.currency", e.to_string()))
            .ok(),
        None => Some(default_currency),
    };
    let items = item_list(&snapshot, "items", "snapshot.items", problems, parse_item);
    let subtotal = cents(
        &snapshot,
        "subtotalInCents",
        "snapshot.subtotalInCents",
        problems,
    );
    let total = cents(&snapshot, "totalInCents", "snapshot.totalInCents", problems);
    let (items, currency) = (items?, currency?);
    let value = match total.or(subtotal) {
        Some(minor) => Money::from_minor(minor, currency),
        None => match items_total(&items, currency) {
            Ok(sum) => sum,
            Err(e) => {
                problems.add("snapshot.items", e.to_string());
                return None;
            }
        },
    };
    Some((items, value, subtotal))
}

fn optional_contact<T>(
    object: &RawObject<'_>,
    field: &str,
    problems: &mut Problems,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    let text = optional_string(object, field, field, problems)?;
    if text.trim().is_empty() {
        return None;
    }
    parse(&text).map_err(|e| problems.add(field, e)).ok()
}

/// Checks the whole body, naming every problem with its field path. A
/// publishable key's session id must be at least
/// [`MIN_PUBLISHABLE_SESSION_CHARS`] long, a secret key's [`MIN_SESSION_CHARS`].
fn parse_capture(
    object: &RawObject<'_>,
    kind: KeyKind,
    default_currency: Currency,
) -> Result<(SessionId, ParsedCart), ApiError> {
    let mut problems = Problems::default();
    let min_session = match kind {
        KeyKind::Publishable => MIN_PUBLISHABLE_SESSION_CHARS,
        KeyKind::Secret => MIN_SESSION_CHARS,
    };
    let session = parse_session(object, min_session, &mut problems);
    let snapshot = parse_snapshot(object, default_currency, &mut problems);
    let email = optional_contact(object, "email", &mut problems, |t| {
        EmailAddress::parse(t).map_err(|e| e.to_string())
    });
    let name = optional_contact(object, "name", &mut problems, |t| {
        CustomerName::parse(t).map_err(|e| e.to_string())
    });
    let locale = crate::input::cart::optional_locale(object, "locale", &mut problems);
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
    if !problems.is_empty() {
        return Err(ApiError::validation(problems.0));
    }
    let (Some(session), Some((items, total, subtotal))) = (session, snapshot) else {
        return Err(ApiError::validation(problems.0));
    };
    let currency = total.currency();
    Ok((
        session,
        ParsedCart {
            session: None,
            items,
            total,
            subtotal,
            currency,
            email,
            name,
            locale,
            consent,
        },
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/public/abandoned-carts",
    tag = "browser capture",
    operation_id = "captureCart",
    summary = "Capture a cart from the shopper's browser (litecommerce's shape, integer cents)",
    description = "Stored like a CART_UPDATE on `/api/v1/track`. The body is read as JSON whatever \
        its `Content-Type` (`text/plain` avoids a preflight). A request with an `Origin` header must \
        come from one of the tenant's allowed origins. With a publishable key the session id must be \
        at least 16 characters, and item links outside the allowed origins and the recovery URL's \
        host are dropped and counted in `droppedLinks`.",
    request_body = request::CaptureRequest,
    responses(
        (status = 200, description = "Stored; nothing about the cart is echoed", body = Captured),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::error::ErrorEnvelope),
        (status = 403, description = "FORBIDDEN: a browser origin the tenant has not allowed", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field by path", body = crate::error::ErrorEnvelope),
        crate::error::AnyKeyErrors,
    ),
    security(
        ("ApiKey" = ["publishable"]), ("Bearer" = ["publishable"]), ("QueryKey" = ["publishable"]),
        ("ApiKey" = ["secret"]), ("Bearer" = ["secret"]),
    )
)]
pub async fn capture(
    state: web::Data<AppState>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let caller = caller(&state, &request).await?;
    enforce_origin(&request, &caller.tenant)?;
    let body = read_body(&request, payload, state.limits.max_body_bytes).await?;
    let root: &RawValue = serde_json::from_slice(&body).map_err(|e| malformed(&e))?;
    let Some(object) = parse_object(root) else {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "the body must be a JSON object",
        ));
    };
    let (session, mut cart) =
        parse_capture(&object, caller.kind, caller.tenant.default_currency())?;
    let dropped = screen_links(
        caller.kind,
        &caller.tenant,
        &mut cart.items,
        "snapshot.items",
    );
    let (row, _) = store_cart(&state, &caller.tenant, session, cart).await?;
    // Both stamps are this write's time only when the row was just inserted (or a
    // finished cart started a new cycle).
    let was_created = row.created_at == row.updated_at;
    Ok(HttpResponse::Ok().json(Captured {
        ok: true,
        was_created,
        dropped_links: dropped.len(),
        warnings: warnings(&dropped),
    }))
}

/// The requests of these routes as the OpenAPI document shows them. Nothing
/// builds these types: the handlers read requests field by field
/// ([`crate::input`]), and schemathesis holds the document and the handlers
/// together.
pub(crate) mod request {
    use serde::Serialize;
    use utoipa::ToSchema;

    use crate::input::documented::StringOrInteger;

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct CaptureItem {
        /// With `variantId` the line's id is `itemId:variantId`; without either, `line-<n>`.
        pub item_id: Option<StringOrInteger>,
        pub variant_id: Option<StringOrInteger>,
        /// Not blank, no control characters.
        #[schema(
            max_length = 500,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub name: String,
        #[schema(minimum = 1, maximum = 1_000_000)]
        pub quantity: i64,
        /// Whole minor units (cents for USD), ≥ 0. Fractions and strings are refused.
        #[schema(minimum = 0, maximum = 100_000_000_000_000_i64)]
        pub unit_price_in_cents: i64,
        /// With a publishable key, kept only when it points at one of the
        /// tenant's allowed origins or its recovery URL's host (else dropped
        /// and counted in `droppedLinks`).
        #[schema(
            max_length = 2048,
            pattern = "^https?://[^/\\s\\u0000-\\u001F\\u007F-\\u009F][^\\s\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub image_url: Option<String>,
        /// The same rule as `imageUrl`.
        #[schema(
            max_length = 2048,
            pattern = "^https?://[^/\\s\\u0000-\\u001F\\u007F-\\u009F][^\\s\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub url: Option<String>,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct CaptureSnapshot {
        #[schema(max_items = 500)]
        pub items: Vec<CaptureItem>,
        /// The value when `totalInCents` is absent.
        #[schema(minimum = 0, maximum = 100_000_000_000_000_i64)]
        pub subtotal_in_cents: Option<i64>,
        #[schema(minimum = 0, maximum = 100_000_000_000_000_i64)]
        pub total_in_cents: Option<i64>,
        #[schema(schema_with = crate::input::shapes::optional_currency)]
        pub currency: Option<String>,
    }

    /// litecommerce's shape. Other fields are ignored.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct CaptureRequest {
        /// 16–200 characters with a publishable key (`tracker.js` makes 32
        /// random hex characters), 8–200 with a secret key; no control characters.
        #[schema(
            min_length = 8,
            max_length = 200,
            pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"
        )]
        pub session_id: String,
        pub snapshot: CaptureSnapshot,
        #[schema(schema_with = crate::input::shapes::optional_email)]
        pub email: Option<String>,
        /// No control characters; blank means none.
        #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
        pub name: Option<String>,
        /// BCP 47 tag, normalised; `""` means none.
        #[schema(max_length = 35, pattern = "^([A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*)?$")]
        pub locale: Option<String>,
        pub consent: Option<bool>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<(SessionId, ParsedCart), Vec<(String, String)>> {
        let root: &RawValue = serde_json::from_str(json).unwrap();
        let object = parse_object(root).unwrap();
        parse_capture(&object, KeyKind::Secret, Currency::USD).map_err(|e| {
            e.details
                .into_iter()
                .map(|d| (d.field, d.message))
                .collect()
        })
    }

    fn fields(json: &str) -> Vec<String> {
        parse(json)
            .err()
            .expect("a validation error")
            .into_iter()
            .map(|(f, _)| f)
            .collect()
    }

    #[test]
    fn the_litecommerce_shape_is_read() {
        let (session, cart) = parse(
            r#"{"sessionId": "sess_12345678",
                "snapshot": {"items": [{"itemId": "pack", "variantId": 38, "name": "Trail Pack 38L",
                                        "quantity": 2, "unitPriceInCents": 18900,
                                        "imageUrl": "https://shop.example/p.jpg"}],
                             "subtotalInCents": 37800, "totalInCents": 39800, "currency": "EUR"},
                "email": "dana@example.com", "name": "Dana", "locale": "nl_nl"}"#,
        )
        .unwrap();
        assert_eq!(session.as_str(), "sess_12345678");
        assert_eq!(cart.items[0].id, "pack");
        assert_eq!(cart.items[0].variant_id.as_deref(), Some("38"));
        assert_eq!(cart.subtotal, Some(37800));
        assert_eq!(cart.items[0].unit_price_minor, 18900);
        assert_eq!(cart.items[0].quantity, 2);
        assert_eq!(cart.total.minor(), 39800);
        assert_eq!(cart.currency, Currency::parse("EUR").unwrap());
        assert_eq!(cart.email.unwrap().as_str(), "dana@example.com");
        assert_eq!(cart.locale.as_deref(), Some("nl-NL"));
    }

    #[test]
    fn the_value_falls_back_to_the_subtotal_then_the_lines() {
        let (_, cart) = parse(
            r#"{"sessionId": "12345678", "snapshot": {"items": [], "subtotalInCents": 500}}"#,
        )
        .unwrap();
        assert_eq!(cart.total.minor(), 500);
        let (_, cart) = parse(
            r#"{"sessionId": "12345678", "snapshot": {"items": [
                {"name": "A", "quantity": 3, "unitPriceInCents": 250},
                {"itemId": 7, "name": "B", "quantity": 1, "unitPriceInCents": 1}]}}"#,
        )
        .unwrap();
        assert_eq!(cart.total.minor(), 751);
        assert_eq!(cart.items[0].id, "line-1");
        assert_eq!(cart.items[1].id, "7");
    }

    #[test]
    fn amounts_must_be_whole_cents() {
        for amount in ["18900.0", "1.89e4"] {
            let body = format!(
                r#"{{"sessionId": "12345678", "snapshot": {{"items": [{{"name": "A", "quantity": 1, "unitPriceInCents": {amount}}}], "totalInCents": {amount}}}}}"#
            );
            let (_, cart) = parse(&body).expect("a whole number of cents");
            assert_eq!(cart.items[0].unit_price_minor, 18900, "{amount}");
        }
        for amount in ["189.5", "\"18900\"", "-1", "true", "1e20"] {
            let body = format!(
                r#"{{"sessionId": "12345678", "snapshot": {{"items": [{{"name": "A", "quantity": 1, "unitPriceInCents": {amount}}}], "totalInCents": {amount}}}}}"#
            );
            assert_eq!(
                fields(&body),
                [
                    "snapshot.items[0].unitPriceInCents",
                    "snapshot.totalInCents"
                ],
                "{amount}"
            );
        }
    }

    #[test]
    fn session_ids_are_8_to_200_characters() {
        let body =
            |session: &str| format!(r#"{{"sessionId": "{session}", "snapshot": {{"items": []}}}}"#);
        assert_eq!(fields(&body("1234567")), ["sessionId"]);
        assert!(parse(&body("12345678")).is_ok());
        assert!(parse(&body(&"s".repeat(200))).is_ok());
        assert_eq!(fields(&body(&"s".repeat(201))), ["sessionId"]);
        assert_eq!(fields(r#"{"snapshot": {"items": []}}"#), ["sessionId"]);
    }

    #[test]
    fn a_publishable_key_needs_16_characters_of_session() {
        let accepted = |session: &str, kind: KeyKind| {
            let json = format!(r#"{{"sessionId": "{session}", "snapshot": {{"items": []}}}}"#);
            let root: &RawValue = serde_json::from_str(&json).unwrap();
            parse_capture(&parse_object(root).unwrap(), kind, Currency::USD).map_err(|e| {
                assert_eq!(e.details[0].field, "sessionId");
                e.details[0].message.clone()
            })
        };
        let refused = accepted("sess_0123456789", KeyKind::Publishable)
            .err()
            .unwrap();
        assert!(refused.contains("publishable"), "{refused}");
        assert!(accepted("sess_0123456789a", KeyKind::Publishable).is_ok());
        assert!(accepted("sess_0123456789", KeyKind::Secret).is_ok());
        assert!(accepted("sess_01", KeyKind::Secret).is_err());
    }

    #[test]
    fn every_problem_is_named_with_its_path() {
        let got = fields(
            r#"{"sessionId": 5, "snapshot": {"items": [{"quantity": 0}, "x"], "currency": "XXXX"},
                "email": "not-an-email", "consent": "yes"}"#,
        );
        assert_eq!(
            got,
            [
                "sessionId",
                "snapshot.currency",
                "snapshot.items[0].name",
                "snapshot.items[0].unitPriceInCents",
                "snapshot.items[0].quantity",
                "snapshot.items[1]",
                "email",
                "consent"
            ]
        );
        assert_eq!(fields(r#"{"sessionId": "12345678"}"#), ["snapshot"]);
        assert_eq!(
            fields(r#"{"sessionId": "12345678", "snapshot": []}"#),
            ["snapshot"]
        );
    }
}
