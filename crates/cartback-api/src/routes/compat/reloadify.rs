//! Reloadify's shopping carts API at the paths its examples call,
//! `/api/v2/languages/{language_id}/shopping_carts`, with `Authorization: Bearer` holding the
//! tenant's secret key. A cart is keyed by the shop's own id (cartback's
//! `externalId`, shared with `PUT /api/v1/carts`) and stored like any other
//! cart; the language is the cart's locale: `language_id` is one of the
//! shop's own language ids (`/api/v1/settings/languages`, for shops whose ids
//! are numbers or store codes) or a locale code (`en`, `nl-NL`), and a cart is
//! found and listed under the language it was written under (`en` also lists
//! `en-GB`). docs/compat.md says where behaviour differs and why.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use cartback_domain::{
    CartItem, Currency, EmailAddress, MAX_ITEMS_PER_CART, Money, locale_of_language, parse_locale,
    validate_item_id, validate_link,
};
use cartback_store::cart_admin::{
    CartFilter, Edited, ExternalOutcome, ExternalUpsert, ShopCartFields, ShopFields, edit_items,
    erase_cart_for_good, find_cart_by_external_id, list_carts, shop_fields_of,
};
use cartback_store::carts::{CartRow, CartUpsert};
use cartback_store::languages::get_language_ids;
use cartback_store::view::{CartAttribute, decimal};

use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::input::Problems;
use crate::input::body::object_body;
use crate::input::fields::{
    MAX_PAGE, query_map, query_number, unknown_params, whole_numbers_as_integers,
};
use crate::routes::carts::time_filter::{apply_time_filters, read_time_filters};
use crate::routes::carts::upsert::store_upsert;
use crate::state::AppState;

const DEFAULT_PER_PAGE: i64 = 10;
const MAX_PER_PAGE: i64 = 250;
const LIST_PARAMS: &[&str] = &[
    "page",
    "per_page",
    "created_after",
    "created_before",
    "updated_after",
    "updated_before",
];
const CART_FIELDS: &[&str] = &[
    "id",
    "profile_id",
    "product_ids",
    "currency",
    "price",
    "recovery_url",
    "recovery_token",
    "created_at",
    "updated_at",
    "custom_attributes",
    "deleted",
    "email",
];
/// How far ahead of the server's clock a backfilled time may be (clock skew).
const FUTURE_SLACK_SECS: i64 = 300;

/// A typed custom attribute, in Reloadify's snake_case.
#[derive(Serialize, ToSchema)]
#[schema(as = ReloadifyCustomAttribute)]
pub(crate) struct CustomAttribute {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    string_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    integer_value: Option<i64>,
    /// `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Date)]
    date_value: Option<String>,
    /// RFC 3339 in UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    datetime_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    boolean_value: Option<bool>,
}

impl From<CartAttribute> for CustomAttribute {
    fn from(attribute: CartAttribute) -> CustomAttribute {
        CustomAttribute {
            name: attribute.name,
            string_value: attribute.string_value,
            integer_value: attribute.integer_value,
            date_value: attribute.date_value,
            datetime_value: attribute.datetime_value,
            boolean_value: attribute.boolean_value,
        }
    }
}

/// A cart in Reloadify's model.
#[derive(Serialize, ToSchema)]
#[schema(as = ReloadifyShoppingCart)]
pub(crate) struct ShoppingCart {
    /// The shop's own id of the cart.
    id: String,
    #[schema(required = true)]
    profile_id: Option<String>,
    product_ids: Vec<String>,
    currency: String,
    /// The total as a decimal string (`"134.95"`).
    #[schema(required = true, pattern = "^-?[0-9]+(\\.[0-9]+)?$")]
    price: Option<String>,
    #[schema(required = true)]
    recovery_url: Option<String>,
    #[schema(required = true)]
    recovery_token: Option<String>,
    deleted: bool,
    /// RFC 3339 in UTC, to the second.
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    custom_attributes: Vec<CustomAttribute>,
}

fn seconds(at: chrono::NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl ShoppingCart {
    fn of(cart: &CartRow, shop: Option<&ShopCartFields>) -> ShoppingCart {
        ShoppingCart {
            id: cart.external_id.clone().unwrap_or_else(|| cart.id.clone()),
            profile_id: shop.and_then(|s| s.profile_id.clone()),
            product_ids: cart.items.iter().map(|item| item.id.clone()).collect(),
            currency: cart.currency.clone(),
            price: decimal(cart.total_minor, &cart.currency),
            recovery_url: shop.and_then(|s| s.recovery_url.clone()),
            recovery_token: shop.and_then(|s| s.recovery_token.clone()),
            deleted: cart.deleted_at.is_some(),
            created_at: seconds(cart.created_at),
            updated_at: seconds(cart.updated_at),
            custom_attributes: cart
                .attributes
                .iter()
                .map(|(name, value)| CartAttribute::of(name, value).into())
                .collect(),
        }
    }
}

/// `{"data": [...]}`.
#[derive(Serialize, ToSchema)]
#[schema(as = ReloadifyShoppingCartList)]
pub(crate) struct ShoppingCartList {
    data: Vec<ShoppingCart>,
}

/// One product of a cart.
#[derive(Serialize, ToSchema)]
#[schema(as = ReloadifyProduct)]
pub(crate) struct Product {
    id: String,
}

/// `{"data": [{"id": …}]}`.
#[derive(Serialize, ToSchema)]
#[schema(as = ReloadifyProductList)]
pub(crate) struct ProductList {
    data: Vec<Product>,
}

fn no_cart() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        "no such shopping cart under this language",
    )
}

/// The language of the path as the locale it stands for: one of the shop's
/// own language ids (`PUT /api/v1/settings/languages`), or else a locale code.
/// Any other id names no language of the shop. The ids are read afresh (the
/// caller's tenant may be a few seconds old), so a change is seen at once.
async fn language(state: &AppState, tenant_id: &str, id: &str) -> Result<String, ApiError> {
    let tenant_id = tenant_id.to_owned();
    let ids = state
        .db(move |conn| get_language_ids(conn, &tenant_id))
        .await?;
    if let Some(locale) = locale_of_language(&ids, id) {
        return Ok(locale.to_owned());
    }
    parse_locale(id).map_err(|_| {
        ApiError::new(
            ErrorCode::NotFound,
            "no such language: language_id is a locale code, like en or nl-NL, or one of the \
             shop's language ids (PUT /api/v1/settings/languages)",
        )
    })
}

/// Whether a cart written with `locale` is under `language` (`en` covers
/// `en-GB`, as the carts list's `locale` filter).
fn under(locale: Option<&str>, language: &str) -> bool {
    locale.is_some_and(|locale| {
        locale.eq_ignore_ascii_case(language)
            || locale
                .get(..language.len() + 1)
                .is_some_and(|head| head.eq_ignore_ascii_case(&format!("{language}-")))
    })
}

/// An id sent as a string or an integer: 1 to 200 characters.
fn id_field(cart: &Map<String, Value>, field: &str, problems: &mut Problems) -> Option<String> {
    let path = format!("shopping_cart.{field}");
    let text = match cart.get(field) {
        None | Some(Value::Null) => return None,
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        Some(_) => {
            problems.add(path, "must be a string or an integer");
            return None;
        }
    };
    validate_item_id(&text)
        .map_err(|e| problems.add(&path, e.to_string()))
        .ok()
}

fn text_field(cart: &Map<String, Value>, field: &str, problems: &mut Problems) -> Option<String> {
    match cart.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => {
            problems.add(format!("shopping_cart.{field}"), "must be a string");
            None
        }
    }
}

/// A backfilled time: RFC 3339, in the stored years, not in the future.
fn time_field(
    cart: &Map<String, Value>,
    field: &str,
    now: DateTime<Utc>,
    problems: &mut Problems,
) -> Option<DateTime<Utc>> {
    let text = text_field(cart, field, problems)?;
    let path = format!("shopping_cart.{field}");
    let Ok(at) = DateTime::parse_from_rfc3339(&text) else {
        problems.add(path, "must be an RFC 3339 time, like 2026-03-15T14:22:00Z");
        return None;
    };
    let at = at.to_utc();
    if let Err(message) = cartback_domain::bounds::check_instant(at) {
        problems.add(path, message);
        return None;
    }
    if at > now + TimeDelta::seconds(FUTURE_SLACK_SECS) {
        problems.add(path, "must not be in the future");
        return None;
    }
    Some(at)
}

/// `custom_attributes` in cartback's wire form (`stringValue`, …), for the
/// store to check and apply; Reloadify's snake_case names only.
fn attributes_field(cart: &Map<String, Value>, problems: &mut Problems) -> Option<Vec<Value>> {
    let list = match cart.get("custom_attributes") {
        None | Some(Value::Null) => return None,
        Some(Value::Array(list)) => list,
        Some(_) => {
            problems.add(
                "shopping_cart.custom_attributes",
                "must be an array of {name, <type>_value} objects",
            );
            return None;
        }
    };
    let mut wire = Vec::with_capacity(list.len());
    for (at, entry) in list.iter().enumerate() {
        let path = format!("shopping_cart.custom_attributes[{at}]");
        let Some(object) = entry.as_object() else {
            problems.add(path, "must be an object with a name and one value field");
            continue;
        };
        let mut renamed = Map::new();
        for (key, value) in object {
            let key = match key.as_str() {
                "name" => "name",
                "string_value" => "stringValue",
                "integer_value" => "integerValue",
                "date_value" => "dateValue",
                "datetime_value" => "datetimeValue",
                "boolean_value" => "booleanValue",
                other => {
                    let shown: String = other.chars().take(40).collect();
                    problems.add(
                        &path,
                        format!(
                            "unknown field {shown:?}: use name and one of string_value, \
                             integer_value, date_value, datetime_value, boolean_value"
                        ),
                    );
                    continue;
                }
            };
            renamed.insert(key.to_owned(), value.clone());
        }
        wire.push(Value::Object(renamed));
    }
    Some(wire)
}

fn product_ids_field(cart: &Map<String, Value>, problems: &mut Problems) -> Option<Vec<String>> {
    let list = match cart.get("product_ids") {
        None | Some(Value::Null) => return None,
        Some(Value::Array(list)) => list,
        Some(_) => {
            problems.add("shopping_cart.product_ids", "must be an array of ids");
            return None;
        }
    };
    if list.len() > MAX_ITEMS_PER_CART {
        problems.add(
            "shopping_cart.product_ids",
            format!("at most {MAX_ITEMS_PER_CART} products per cart"),
        );
        return None;
    }
    let mut ids: Vec<String> = Vec::with_capacity(list.len());
    for (at, value) in list.iter().enumerate() {
        let path = format!("shopping_cart.product_ids[{at}]");
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
            _ => {
                problems.add(path, "must be a string or an integer");
                continue;
            }
        };
        match validate_item_id(&text) {
            // A product is in a cart or not: a repeat adds nothing.
            Ok(id) if !ids.contains(&id) => ids.push(id),
            Ok(_) => {}
            Err(e) => problems.add(path, e.to_string()),
        }
    }
    Some(ids)
}

/// A product line: Reloadify's carts carry product ids only, so the line has
/// no name or price of its own (the cart's `price` is its value).
fn product_line(id: String) -> CartItem {
    CartItem {
        id,
        name: String::new(),
        unit_price_minor: 0,
        quantity: 1,
        image_url: None,
        url: None,
        variant_id: None,
    }
}

/// `price` as Reloadify sends it: a decimal string (a JSON number is read
/// too), exact in the currency's decimals, zero or more.
fn price_field(
    cart: &Map<String, Value>,
    currency: Currency,
    problems: &mut Problems,
) -> Option<Money> {
    let text = match cart.get("price") {
        None | Some(Value::Null) => return None,
        Some(Value::String(text)) => text.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => {
            problems.add(
                "shopping_cart.price",
                "must be a decimal string, like \"134.95\"",
            );
            return None;
        }
    };
    let money = Money::parse_major(&text, currency)
        .map_err(|e| problems.add("shopping_cart.price", e.to_string()))
        .ok()?;
    if money.is_negative() {
        problems.add("shopping_cart.price", "must not be negative");
        return None;
    }
    cartback_domain::bounds::check_amount(money.minor())
        .map_err(|message| problems.add("shopping_cart.price", message))
        .ok()?;
    Some(money)
}

/// The checked body of a PUT: the upsert, and whether the cart came with
/// attributes (their errors come back from the store by index).
fn parse_put(
    body: &Map<String, Value>,
    tenant: &cartback_store::tenants::Tenant,
    locale: String,
    now: DateTime<Utc>,
) -> Result<ExternalUpsert, ApiError> {
    let mut problems = Problems::default();
    for key in body.keys() {
        if key != "shopping_cart" {
            let shown: String = key.chars().take(40).collect();
            problems.add(
                shown,
                "unknown field: the cart goes inside a shopping_cart object",
            );
        }
    }
    let Some(cart) = body.get("shopping_cart").and_then(Value::as_object) else {
        problems.add("shopping_cart", "is required: an object holding the cart");
        return Err(ApiError::validation(problems.0));
    };
    for key in cart.keys() {
        if !CART_FIELDS.contains(&key.as_str()) {
            let shown: String = key.chars().take(40).collect();
            problems.add(format!("shopping_cart.{shown}"), "unknown field");
        }
    }
    let id = id_field(cart, "id", &mut problems);
    if cart.get("id").is_none_or(Value::is_null) {
        problems.add("shopping_cart.id", "is required");
    }
    let profile_id = id_field(cart, "profile_id", &mut problems);
    if cart.get("profile_id").is_none_or(Value::is_null) {
        problems.add("shopping_cart.profile_id", "is required");
    }
    let currency = match text_field(cart, "currency", &mut problems) {
        Some(code) => Currency::parse(&code)
            .map_err(|e| problems.add("shopping_cart.currency", e.to_string()))
            .ok(),
        None => Some(tenant.default_currency()),
    };
    let price = currency.and_then(|currency| price_field(cart, currency, &mut problems));
    // Kept as written, once it parses as a URL: emails lead shoppers there.
    let recovery_url = text_field(cart, "recovery_url", &mut problems).and_then(|url| {
        let checked = validate_link(&url)
            .map_err(|e| e.to_string())
            .and_then(|url| {
                cartback_webhooks::check_url(&url, true)
                    .map(|_| url)
                    .map_err(|e| e.to_string())
            });
        checked
            .map_err(|e| problems.add("shopping_cart.recovery_url", e))
            .ok()
    });
    let recovery_token = text_field(cart, "recovery_token", &mut problems).and_then(|token| {
        validate_item_id(&token)
            .map_err(|e| problems.add("shopping_cart.recovery_token", e.to_string()))
            .ok()
    });
    let created_at = time_field(cart, "created_at", now, &mut problems);
    let updated_at = time_field(cart, "updated_at", now, &mut problems);
    if let (Some(created), Some(updated)) = (created_at, updated_at)
        && updated < created
    {
        problems.add("shopping_cart.updated_at", "must not be before created_at");
    }
    let attributes = attributes_field(cart, &mut problems);
    let product_ids = product_ids_field(cart, &mut problems);
    let deleted = match cart.get("deleted") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(flag)) => Some(*flag),
        Some(_) => {
            problems.add("shopping_cart.deleted", "must be true or false");
            None
        }
    };
    // cartback's addition: Reloadify keeps addresses on profiles, which
    // cartback does not have; without one cartback cannot email the cart.
    let email = text_field(cart, "email", &mut problems)
        .filter(|e| !e.trim().is_empty())
        .and_then(|e| {
            EmailAddress::parse(&e)
                .map_err(|err| problems.add("shopping_cart.email", err.to_string()))
                .ok()
        });
    problems.check()?;
    let (Some(id), Some(profile_id), Some(currency)) = (id, profile_id, currency) else {
        return Err(ApiError::validation(vec![FieldError {
            field: "shopping_cart".into(),
            message: "incomplete cart".into(),
        }]));
    };
    let policy = tenant.recovery_policy()?;
    let keep_total = price.is_none();
    let total = price.unwrap_or_else(|| Money::zero(currency));
    let keep_items = product_ids.is_none();
    let items: Vec<CartItem> = product_ids
        .unwrap_or_default()
        .into_iter()
        .map(product_line)
        .collect();
    Ok(ExternalUpsert {
        cart: CartUpsert {
            tenant_id: tenant.id.clone(),
            session_id: format!("ext:{id}"),
            items,
            total_minor: total.minor(),
            subtotal_minor: None,
            currency: currency.code().to_owned(),
            customer_email: email.map(|e| e.as_str().to_owned()),
            customer_name: None,
            locale: Some(locale),
            consent: None,
            now,
            next_action_at: cartback_domain::bounds::shift(now, policy.abandon_delay()),
        },
        external_id: id,
        merge_attributes: attributes.clone(),
        shop: ShopFields {
            profile_id: Some(profile_id),
            recovery_url,
            recovery_token,
            created_at,
            updated_at,
            deleted,
            keep_items,
            keep_total,
            replace_attributes: attributes.is_some(),
        },
    })
}

/// The cart in Reloadify's model, with its shop fields read.
async fn answer(
    state: &AppState,
    cart: CartRow,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, ApiError> {
    let tenant_id = cart.tenant_id.clone();
    let id = cart.id.clone();
    let fields = state
        .db(move |conn| shop_fields_of(conn, &tenant_id, &[id.as_str()]))
        .await?;
    Ok(HttpResponse::build(status).json(ShoppingCart::of(&cart, fields.get(&cart.id))))
}

/// The paths' parameters.
type CartPath = web::Path<(String, String)>;
type ProductPath = web::Path<(String, String, String)>;

/// The cart with this shop id under this language; deleted ones too when
/// `include_deleted`.
async fn load(
    state: &AppState,
    tenant_id: &str,
    language_id: &str,
    cart_id: String,
    include_deleted: bool,
) -> Result<CartRow, ApiError> {
    let language = language(state, tenant_id, language_id).await?;
    let tenant_id = tenant_id.to_owned();
    let cart = state
        .db(move |conn| find_cart_by_external_id(conn, &tenant_id, &cart_id, include_deleted))
        .await?;
    cart.filter(|cart| under(cart.locale.as_deref(), &language))
        .ok_or_else(no_cart)
}

#[utoipa::path(
    get,
    path = "/api/v2/languages/{language_id}/shopping_carts",
    tag = "compat-reloadify",
    operation_id = "reloadifyListShoppingCarts",
    summary = "Reloadify: the carts of a language, newest first (docs/compat.md)",
    description = "The carts the shop gave its own id (here or through `PUT /api/v1/carts`) whose \
        locale is the language (`en` also lists `en-GB`), soft-deleted ones included with \
        `deleted: true`.",
    params(
        ("language_id" = String, Path, description = "A locale code (`en`, `nl-NL`), or one of the shop's own language ids (`GET /api/v1/settings/languages`)"),
        request::ReloadifyListQuery,
    ),
    responses(
        (status = 200, description = "The page (`data: []` past the end)", body = ShoppingCartList),
        (status = 404, description = "NOT_FOUND: `language_id` is neither one of the shop's language ids nor a locale code", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: an unknown parameter or a bad value", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    language_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let language = language(&state, &caller.tenant.id, &language_id).await?;
    let mut problems = Problems::default();
    let query = query_map(request.query_string(), &mut problems);
    unknown_params(&query, LIST_PARAMS, &mut problems);
    let times = read_time_filters(&query, LIST_PARAMS, &mut problems);
    let page = query_number(&query, "page", 1, 1..=MAX_PAGE, &mut problems);
    let per_page = query_number(
        &query,
        "per_page",
        DEFAULT_PER_PAGE,
        1..=MAX_PER_PAGE,
        &mut problems,
    );
    problems.check()?;
    let mut filter = CartFilter {
        locale: Some(language),
        include_deleted: true,
        with_shop_id: true,
        ..CartFilter::default()
    };
    let tenant_id = caller.tenant.id.clone();
    let (rows, fields) = state
        .db(move |conn| {
            apply_time_filters(conn, &tenant_id, times, &mut filter)?;
            let (rows, _) = list_carts(conn, &tenant_id, &filter, page, per_page)?;
            let ids: Vec<&str> = rows.iter().map(|row| row.id.as_str()).collect();
            let fields = shop_fields_of(conn, &tenant_id, &ids)?;
            Ok::<_, cartback_store::StoreError>((rows, fields))
        })
        .await?;
    Ok(HttpResponse::Ok().json(ShoppingCartList {
        data: rows
            .iter()
            .map(|row| ShoppingCart::of(row, fields.get(&row.id)))
            .collect(),
    }))
}

#[utoipa::path(
    put,
    path = "/api/v2/languages/{language_id}/shopping_carts",
    tag = "compat-reloadify",
    operation_id = "reloadifyPutShoppingCart",
    summary = "Reloadify: create or update a cart by the shop's own id (docs/compat.md)",
    description = "The body is `{\"shopping_cart\": {…}}`; `id` and `profile_id` are required. \
        A field left out keeps the stored value (a new cart: `price` 0, no products). \
        `product_ids` and `custom_attributes`, when given, replace the whole list. \
        `created_at` / `updated_at` backfill history: `updated_at` is the cart's last activity, \
        from which its emails are scheduled. `deleted: true` hides the cart (a soft delete). \
        `email` is cartback's addition: without it cartback cannot email the cart.",
    params(("language_id" = String, Path, description = "A locale code (`en`, `nl-NL`), or one of the shop's own language ids (`GET /api/v1/settings/languages`)")),
    request_body = request::ReloadifyCartRequest,
    responses(
        (status = 200, description = "Updated", body = ShoppingCart),
        (status = 201, description = "Created", body = ShoppingCart),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::error::ErrorEnvelope),
        (status = 404, description = "NOT_FOUND: `language_id` is neither one of the shop's language ids nor a locale code", body = crate::error::ErrorEnvelope),
        (status = 409, description = "CONFLICT: a concurrent change of the same cart", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field (`shopping_cart.price`)", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn put(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    language_id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let locale = language(&state, &caller.tenant.id, &language_id).await?;
    let mut body = object_body(&state, &request, payload, false).await?;
    // `19103181.0` is the integer the document's `integer` allows, as in the
    // native API.
    body.values_mut().for_each(whole_numbers_as_integers);
    let upsert = parse_put(&body, &caller.tenant, locale, Utc::now())?;
    let outcome = state.db(move |conn| store_upsert(conn, &upsert)).await??;
    let (cart, created) = match outcome {
        ExternalOutcome::Saved { cart, created } => (cart, created),
        ExternalOutcome::Invalid { field, message } => {
            // The store names the native field (`attributes[2]`).
            let field = field.replacen("attributes", "shopping_cart.custom_attributes", 1);
            return Err(ApiError::validation(vec![FieldError { field, message }]));
        }
    };
    let status = if created {
        actix_web::http::StatusCode::CREATED
    } else {
        actix_web::http::StatusCode::OK
    };
    answer(&state, *cart, status).await
}

#[utoipa::path(
    get,
    path = "/api/v2/languages/{language_id}/shopping_carts/{shopping_cart_id}",
    tag = "compat-reloadify",
    operation_id = "reloadifyGetShoppingCart",
    summary = "Reloadify: one cart by the shop's own id (docs/compat.md)",
    params(request::ReloadifyCartPath),
    responses(
        (status = 200, description = "The cart (a soft-deleted one with `deleted: true`)", body = ShoppingCart),
        (status = 404, description = "NOT_FOUND: no such cart under this language (or it was erased)", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    path: CartPath,
) -> Result<HttpResponse, ApiError> {
    let (language_id, cart_id) = path.into_inner();
    let cart = load(&state, &caller.tenant.id, &language_id, cart_id, true).await?;
    answer(&state, cart, actix_web::http::StatusCode::OK).await
}

#[utoipa::path(
    delete,
    path = "/api/v2/languages/{language_id}/shopping_carts/{shopping_cart_id}",
    tag = "compat-reloadify",
    operation_id = "reloadifyDeleteShoppingCart",
    summary = "Reloadify: erase a cart for good (docs/compat.md)",
    description = "Irreversible: the cart's personal data, its shop id and its history details are \
        erased exactly as by `POST /api/v1/carts/{id}/erase`; only counts and totals stay for \
        statistics. The id is free for a new cart afterwards. A soft delete is \
        `PUT` with `deleted: true`.",
    params(request::ReloadifyCartPath),
    responses(
        (status = 204, description = "Erased"),
        (status = 404, description = "NOT_FOUND: no such cart under this language", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    path: CartPath,
) -> Result<HttpResponse, ApiError> {
    let (language_id, cart_id) = path.into_inner();
    let cart = load(&state, &caller.tenant.id, &language_id, cart_id, true).await?;
    let tenant_id = caller.tenant.id.clone();
    let erased = state
        .db(move |conn| erase_cart_for_good(conn, &tenant_id, &cart.id, Utc::now()))
        .await?;
    match erased {
        Some(_) => Ok(HttpResponse::NoContent().finish()),
        None => Err(no_cart()),
    }
}

#[utoipa::path(
    get,
    path = "/api/v2/languages/{language_id}/shopping_carts/{shopping_cart_id}/products",
    tag = "compat-reloadify",
    operation_id = "reloadifyListCartProducts",
    summary = "Reloadify: the products in a cart (docs/compat.md)",
    params(request::ReloadifyCartPath),
    responses(
        (status = 200, description = "The product ids", body = ProductList),
        (status = 404, description = "NOT_FOUND: no such cart under this language", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn products(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    path: CartPath,
) -> Result<HttpResponse, ApiError> {
    let (language_id, cart_id) = path.into_inner();
    let cart = load(&state, &caller.tenant.id, &language_id, cart_id, true).await?;
    Ok(HttpResponse::Ok().json(ProductList {
        data: cart
            .items
            .iter()
            .map(|item| Product {
                id: item.id.clone(),
            })
            .collect(),
    }))
}

/// Why a product change was refused.
enum ProductRefusal {
    Absent,
    Full,
}

/// Adds (`add`) or removes one product of a visible cart, through the same
/// atomic item edit as the native items API; the cart's price stays.
async fn change_product(
    state: &AppState,
    caller: &crate::auth::Caller,
    path: ProductPath,
    add: bool,
) -> Result<HttpResponse, ApiError> {
    let (language_id, cart_id, product_id) = path.into_inner();
    let product_id = validate_item_id(&product_id).map_err(|e| {
        ApiError::validation(vec![FieldError {
            field: "product_id".into(),
            message: e.to_string(),
        }])
    })?;
    let cart = load(state, &caller.tenant.id, &language_id, cart_id, false).await?;
    let tenant_id = caller.tenant.id.clone();
    let edited = state
        .db(move |conn| {
            edit_items(conn, &tenant_id, &cart.id, None, Utc::now(), |cart| {
                let mut items = cart.items.clone();
                let at = items.iter().position(|item| item.id == product_id);
                match (add, at) {
                    (true, Some(_)) => {}
                    (true, None) if items.len() >= MAX_ITEMS_PER_CART => {
                        return Err(ProductRefusal::Full);
                    }
                    (true, None) => items.push(product_line(product_id.clone())),
                    (false, Some(at)) => {
                        items.remove(at);
                    }
                    (false, None) => return Err(ProductRefusal::Absent),
                }
                Ok((items, cart.total_minor))
            })
        })
        .await?;
    match edited {
        Edited::Updated(cart) => answer(state, *cart, actix_web::http::StatusCode::OK).await,
        Edited::NotFound | Edited::Stale { .. } => Err(no_cart()),
        Edited::Refused(ProductRefusal::Absent) => Err(ApiError::new(
            ErrorCode::NotFound,
            "this product is not in the cart",
        )),
        Edited::Refused(ProductRefusal::Full) => Err(ApiError::new(
            ErrorCode::Conflict,
            format!("a cart holds at most {MAX_ITEMS_PER_CART} products"),
        )),
    }
}

#[utoipa::path(
    put,
    path = "/api/v2/languages/{language_id}/shopping_carts/{shopping_cart_id}/products/{product_id}",
    tag = "compat-reloadify",
    operation_id = "reloadifyAddCartProduct",
    summary = "Reloadify: add a product to a cart (docs/compat.md)",
    description = "Adding a product the cart holds changes nothing. Answers with the cart.",
    params(
        request::ReloadifyCartPath,
        ("product_id" = String, Path, description = "The product's id: 1 to 200 characters, no control characters", max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]+$"),
    ),
    responses(
        (status = 200, description = "The cart", body = ShoppingCart),
        (status = 404, description = "NOT_FOUND: no such cart under this language (or it is deleted)", body = crate::error::ErrorEnvelope),
        (status = 409, description = "CONFLICT: the cart holds the most products a cart may", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: a product id over 200 characters", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn add_product(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    path: ProductPath,
) -> Result<HttpResponse, ApiError> {
    change_product(&state, &caller, path, true).await
}

#[utoipa::path(
    delete,
    path = "/api/v2/languages/{language_id}/shopping_carts/{shopping_cart_id}/products/{product_id}",
    tag = "compat-reloadify",
    operation_id = "reloadifyRemoveCartProduct",
    summary = "Reloadify: remove a product from a cart (docs/compat.md)",
    description = "Answers with the cart.",
    params(
        request::ReloadifyCartPath,
        ("product_id" = String, Path, description = "The product's id: 1 to 200 characters, no control characters", max_length = 200, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]+$"),
    ),
    responses(
        (status = 200, description = "The cart", body = ShoppingCart),
        (status = 404, description = "NOT_FOUND: no such cart under this language, or the product is not in it", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: a product id over 200 characters", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn remove_product(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    path: ProductPath,
) -> Result<HttpResponse, ApiError> {
    change_product(&state, &caller, path, false).await
}

/// The requests of these routes as the OpenAPI document shows them. Nothing
/// builds these types: the handlers read requests field by field
/// ([`crate::input`]), and schemathesis holds the document and the handlers
/// together.
#[expect(
    dead_code,
    reason = "schema-only types: the document describes them, nothing builds them"
)]
pub(crate) mod request {
    use serde::Serialize;
    use utoipa::{IntoParams, ToSchema};

    /// The query of Reloadify's cart list.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ReloadifyListQuery {
        /// From 1 (default 1).
        #[param(minimum = 1, maximum = 1_000_000)]
        pub page: Option<i64>,
        /// Default 10, at most 250.
        #[param(minimum = 1, maximum = 250)]
        pub per_page: Option<i64>,
        #[param(schema_with = crate::input::shapes::list_instant)]
        pub created_after: Option<String>,
        #[param(schema_with = crate::input::shapes::list_instant)]
        pub created_before: Option<String>,
        #[param(schema_with = crate::input::shapes::list_instant)]
        pub updated_after: Option<String>,
        #[param(schema_with = crate::input::shapes::list_instant)]
        pub updated_before: Option<String>,
    }

    /// The path of one Reloadify cart.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Path)]
    pub struct ReloadifyCartPath {
        /// A locale code (`en`, `nl-NL`), or one of the shop's own language
        /// ids (`GET /api/v1/settings/languages`).
        pub language_id: String,
        /// The shop's own id of the cart.
        pub shopping_cart_id: String,
    }

    /// Reloadify's `PUT …/shopping_carts` body: the cart inside `shopping_cart`.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ReloadifyCartRequest {
        pub shopping_cart: ReloadifyCartFields,
    }

    /// `id` and `profile_id` required; a field left out keeps the stored value.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ReloadifyCartFields {
        /// The shop's own id of the cart: a string of 1 to 200 characters, or an integer.
        #[schema(schema_with = crate::input::shapes::string_or_integer)]
        pub id: String,
        /// The shop's id of the shopper's profile: a string or an integer.
        #[schema(schema_with = crate::input::shapes::string_or_integer)]
        pub profile_id: String,
        /// The products in the cart (each a string or an integer, a repeat
        /// counted once); replaces the list when given.
        #[schema(schema_with = crate::input::shapes::ids_of_products)]
        pub product_ids: Option<Vec<String>>,
        #[schema(schema_with = crate::input::shapes::optional_currency)]
        pub currency: Option<String>,
        /// The total in the currency's decimals, as a string (`"134.95"`) or a number.
        #[schema(schema_with = crate::input::shapes::reloadify_price)]
        pub price: Option<String>,
        /// Where recovery emails lead for this cart, instead of the shop's recovery URL.
        #[schema(schema_with = crate::input::shapes::cart_link)]
        pub recovery_url: Option<String>,
        /// The shop's token for that link, kept as given.
        #[schema(schema_with = crate::input::shapes::optional_reference)]
        pub recovery_token: Option<String>,
        /// Backfilled creation time (RFC 3339), not in the future.
        #[schema(format = DateTime)]
        pub created_at: Option<String>,
        /// Backfilled last activity (RFC 3339), not in the future.
        #[schema(format = DateTime)]
        pub updated_at: Option<String>,
        /// `[{"name", "<type>_value"}]` with at most one of `string_value`,
        /// `integer_value`, `date_value`, `datetime_value`, `boolean_value`
        /// (none: the attribute is left out); the cart's whole set when given.
        #[schema(schema_with = crate::input::shapes::reloadify_attributes)]
        pub custom_attributes: Option<Vec<serde_json::Value>>,
        /// True hides the cart (a soft delete); false or a later PUT shows it again.
        pub deleted: Option<bool>,
        /// cartback's addition: the shopper's address, without which cartback cannot email the cart.
        #[schema(schema_with = crate::input::shapes::optional_email)]
        pub email: Option<String>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_language_covers_its_regional_locales() {
        assert!(under(Some("en"), "en"));
        assert!(under(Some("en-GB"), "en"));
        assert!(!under(Some("en"), "en-GB"));
        assert!(!under(Some("eng"), "en"));
        assert!(!under(None, "en"));
        assert!(under(Some("nl-NL"), "nl-NL"));
    }
}
