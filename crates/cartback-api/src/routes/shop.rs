//! `GET/PUT/PATCH /api/v1/settings/shop`: the shop's name, recovery URL,
//! sender, reply-to, time zone, default currency and default language. A PATCH
//! (JSON Merge Patch) changes only the fields it carries (`null` clears an
//! optional one); a PUT replaces them all (a required field left out is a 422,
//! an optional one left out is cleared). The rules are the domain's
//! (`ShopSettings::edited`), shared with the dashboard, and one 422 names every
//! bad field.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use cartback_domain::{Edit, SHOP_FIELDS, ShopSettings, ShopSettingsEdit};
use cartback_store::tenants::{find_tenant, update_shop_settings};

use crate::auth::SecretCaller;
use crate::error::{ApiError, FieldError};
use crate::input::Problems;
use crate::input::body::object_body;
use crate::input::fields::unknown_fields;
use crate::state::AppState;
use cartback_store::view::time;

/// The shop's settings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ShopSettingsView {
    /// Shown in emails and the dashboard; 1 to 200 characters.
    pub name: String,
    /// Where the links of recovery emails lead (the session id and cart token
    /// are appended); null when none is set (the links then show the restore page).
    pub recovery_url: Option<String>,
    /// The sender's address of recovery emails.
    pub from_email: String,
    /// The sender's display name (the email settings' `senderName`, when set,
    /// takes precedence); null: the shop's name.
    pub from_name: Option<String>,
    /// Where shoppers' replies go; null: to the sender.
    pub reply_to: Option<String>,
    /// IANA time zone of the shop (the recovery policy's `timeZone`: quiet hours
    /// and the days of reports).
    pub time_zone: String,
    /// ISO 4217 code of a tracked cart that names no currency.
    pub default_currency: String,
    /// BCP 47 language of a cart that carries none (the email settings'
    /// `defaultLocale`; `en` when never chosen).
    pub default_locale: String,
    /// When the tenant's settings last changed.
    pub updated_at: String,
}

impl ShopSettingsView {
    fn new(shop: ShopSettings, updated_at: chrono::NaiveDateTime) -> ShopSettingsView {
        ShopSettingsView {
            name: shop.name,
            recovery_url: shop.recovery_url,
            from_email: shop.from_email,
            from_name: shop.from_name,
            reply_to: shop.reply_to,
            time_zone: shop.time_zone,
            default_currency: shop.default_currency.code().to_owned(),
            default_locale: shop.default_locale,
            updated_at: time(updated_at),
        }
    }
}

/// The answer of both routes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ShopSettingsAnswer {
    pub success: bool,
    pub shop: ShopSettingsView,
}

/// One field of a partial update: left out, `null`, a string, or something
/// else (reported as the field's problem rather than a serde error).
#[derive(Debug, Default)]
pub(crate) enum Patch {
    #[default]
    Absent,
    Null,
    Text(String),
    NotText,
}

impl<'de> Deserialize<'de> for Patch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Patch, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::Null => Patch::Null,
            Value::String(text) => Patch::Text(text),
            _ => Patch::NotText,
        })
    }
}

/// What a field left out of the body means: kept (PATCH) or cleared (PUT,
/// which replaces every field; the domain refuses clearing a required one).
#[derive(Debug, Clone, Copy)]
enum LeftOut {
    Keep,
    Clear,
}

impl Patch {
    fn edit<'a>(&'a self, field: &str, left_out: LeftOut, problems: &mut Problems) -> Edit<'a> {
        match self {
            Patch::Absent => match left_out {
                LeftOut::Keep => Edit::Keep,
                LeftOut::Clear => Edit::Clear,
            },
            Patch::Null => Edit::Clear,
            Patch::Text(text) => Edit::Set(text),
            Patch::NotText => {
                problems.add(field, "must be a string or null");
                Edit::Keep
            }
        }
    }
}

/// A change to some of the settings (JSON Merge Patch): a field left out
/// stays as it is, `null` clears an optional one (`recoveryUrl`, `fromName`,
/// `replyTo`) and is refused for the others. A PUT's body is read the same way,
/// its fields left out then cleared.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ShopSettingsUpdate {
    /// 1 to 200 characters, no control characters.
    #[serde(default)]
    #[schema(schema_with = crate::input::shapes::shop_name)]
    pub name: Patch,
    /// An http(s) URL of at most 2048 characters; null removes it.
    #[serde(default)]
    #[schema(schema_with = crate::input::shapes::recovery_url)]
    pub recovery_url: Patch,
    /// An email address.
    #[serde(default)]
    #[schema(schema_with = crate::input::shapes::email_address)]
    pub from_email: Patch,
    /// 1 to 100 characters, no control characters; null: the shop's name.
    #[serde(default)]
    #[schema(schema_with = crate::input::shapes::sender_name)]
    pub from_name: Patch,
    /// An email address; null: replies go to the sender.
    #[serde(default)]
    #[schema(schema_with = crate::input::shapes::optional_email_address)]
    pub reply_to: Patch,
    /// An IANA time zone name (`Europe/Amsterdam`).
    #[serde(default)]
    #[schema(schema_with = crate::input::shapes::time_zone)]
    pub time_zone: Patch,
    /// An ISO 4217 code (`EUR`).
    #[serde(default)]
    #[schema(schema_with = crate::input::shapes::currency)]
    pub default_currency: Patch,
    /// A BCP 47 language tag (`nl-NL`, `en`).
    #[serde(default)]
    #[schema(schema_with = crate::input::shapes::locale)]
    pub default_locale: Patch,
}

#[utoipa::path(
    get,
    path = "/api/v1/settings/shop",
    tag = "settings",
    operation_id = "getShopSettings",
    summary = "The shop's name, recovery URL, sender, reply-to, time zone, default currency and language",
    responses(
        (status = 200, description = "The settings", body = ShopSettingsAnswer),
        (status = 404, description = "NOT_FOUND: the tenant was deleted meanwhile", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
) -> Result<HttpResponse, ApiError> {
    // Read afresh: the caller's tenant may be a few seconds old (auth cache).
    let (shop, updated_at) = state
        .db(move |conn| {
            let tenant = find_tenant(conn, &caller.tenant.id)?
                .ok_or(cartback_store::StoreError::NotFound)?;
            Ok::<_, cartback_store::StoreError>((tenant.shop_settings()?, tenant.updated_at))
        })
        .await?;
    Ok(HttpResponse::Ok().json(ShopSettingsAnswer {
        success: true,
        shop: ShopSettingsView::new(shop, updated_at),
    }))
}

#[utoipa::path(
    put,
    path = "/api/v1/settings/shop",
    tag = "settings",
    operation_id = "putShopSettings",
    summary = "Replace every shop setting",
    description = "Every field is replaced: `name`, `fromEmail`, `timeZone`, `defaultCurrency` and \
        `defaultLocale` are required, and `recoveryUrl`, `fromName` or `replyTo` left out (or null) \
        are cleared. To change some fields only, use `PATCH`. The time zone is the recovery \
        policy's `timeZone` and the default language the email settings' `defaultLocale`: \
        changing them here changes them there. See docs/api.md, \"Changing settings\".",
    request_body = request::ShopSettingsDocument,
    responses(
        (status = 200, description = "The settings now stored", body = ShopSettingsAnswer),
        (status = 400, description = "BAD_REQUEST: the body is not a JSON object", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 404, description = "NOT_FOUND: the tenant was deleted meanwhile", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: every bad or missing field at once (`name`, `recoveryUrl`, `fromEmail`, `fromName`, `replyTo`, `timeZone`, `defaultCurrency`, `defaultLocale`, or an unknown one)", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn put(
    state: web::Data<AppState>,
    caller: SecretCaller,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    write(state, caller, request, payload, LeftOut::Clear).await
}

#[utoipa::path(
    patch,
    path = "/api/v1/settings/shop",
    tag = "settings",
    operation_id = "patchShopSettings",
    summary = "Change some of the shop's settings, keeping the rest",
    description = "A JSON Merge Patch: only the fields the body carries change; `null` clears \
        `recoveryUrl`, `fromName` or `replyTo` (and is refused for the others). The time zone \
        is the recovery policy's `timeZone` and the default language the email settings' \
        `defaultLocale`: changing them here changes them there. \
        `Content-Type: application/merge-patch+json` or `application/json`.",
    request_body(content((ShopSettingsUpdate = "application/merge-patch+json"))),
    responses(
        (status = 200, description = "The settings now stored, every field", body = ShopSettingsAnswer),
        (status = 400, description = "BAD_REQUEST: the body is not a JSON object", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 404, description = "NOT_FOUND: the tenant was deleted meanwhile", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: every bad field at once (`name`, `recoveryUrl`, `fromEmail`, `fromName`, `replyTo`, `timeZone`, `defaultCurrency`, `defaultLocale`, or an unknown one)", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn patch(
    state: web::Data<AppState>,
    caller: SecretCaller,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    write(state, caller, request, payload, LeftOut::Keep).await
}

async fn write(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    payload: web::Payload,
    left_out: LeftOut,
) -> Result<HttpResponse, ApiError> {
    let mut body = object_body(&state, &request, payload, false).await?;
    let mut problems = Problems::default();
    unknown_fields(&body, &SHOP_FIELDS, &mut problems);
    body.retain(|key, _| SHOP_FIELDS.contains(&key.as_str()));
    let update: ShopSettingsUpdate =
        serde_json::from_value(Value::Object(body)).map_err(ApiError::internal)?;
    let tenant_id = caller.tenant.id.clone();
    let outcome = state
        .db(move |conn| {
            let now = Utc::now().naive_utc();
            let edit = ShopSettingsEdit {
                name: update.name.edit("name", left_out, &mut problems),
                recovery_url: update
                    .recovery_url
                    .edit("recoveryUrl", left_out, &mut problems),
                from_email: update.from_email.edit("fromEmail", left_out, &mut problems),
                from_name: update.from_name.edit("fromName", left_out, &mut problems),
                reply_to: update.reply_to.edit("replyTo", left_out, &mut problems),
                time_zone: update.time_zone.edit("timeZone", left_out, &mut problems),
                default_currency: update.default_currency.edit(
                    "defaultCurrency",
                    left_out,
                    &mut problems,
                ),
                default_locale: update.default_locale.edit(
                    "defaultLocale",
                    left_out,
                    &mut problems,
                ),
            };
            let saved = update_shop_settings(conn, &tenant_id, now, |current| {
                let mut refused: Vec<FieldError> = problems.0;
                match current.edited(&edit) {
                    Ok(next) if refused.is_empty() => return Ok(next),
                    Ok(_) => {}
                    Err(invalid) => refused.extend(invalid.into_iter().map(|e| FieldError {
                        field: e.field.unwrap_or_else(|| "body".to_owned()),
                        message: e.message,
                    })),
                }
                Err(refused)
            })?;
            Ok::<_, cartback_store::StoreError>(saved.map(|shop| (shop, now)))
        })
        .await?;
    let (shop, now) = outcome.map_err(ApiError::validation)?;
    tracing::info!(tenant = %caller.tenant.id, "shop settings changed");
    Ok(HttpResponse::Ok().json(ShopSettingsAnswer {
        success: true,
        shop: ShopSettingsView::new(shop, now),
    }))
}

/// The requests of these routes as the OpenAPI document shows them. Nothing
/// builds these types: the handlers read requests field by field
/// ([`crate::input`]), and schemathesis holds the document and the handlers
/// together.
pub(crate) mod request {
    use serde::Serialize;
    use utoipa::ToSchema;

    /// Every shop setting, as a `PUT` replaces them: the required ones must
    /// be given; an optional one left out or null is cleared.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct ShopSettingsDocument {
        /// 1 to 200 characters, no control characters.
        #[schema(schema_with = crate::input::shapes::shop_name)]
        pub name: String,
        /// An http(s) URL of at most 2048 characters; null or left out: none.
        #[schema(schema_with = crate::input::shapes::recovery_url)]
        pub recovery_url: Option<String>,
        /// An email address.
        #[schema(schema_with = crate::input::shapes::email_address)]
        pub from_email: String,
        /// 1 to 100 characters, no control characters; null or left out: the shop's name.
        #[schema(schema_with = crate::input::shapes::sender_name)]
        pub from_name: Option<String>,
        /// An email address; null or left out: replies go to the sender.
        #[schema(schema_with = crate::input::shapes::optional_email_address)]
        pub reply_to: Option<String>,
        /// An IANA time zone name (`Europe/Amsterdam`).
        #[schema(schema_with = crate::input::shapes::time_zone)]
        pub time_zone: String,
        /// An ISO 4217 code (`EUR`).
        #[schema(schema_with = crate::input::shapes::currency)]
        pub default_currency: String,
        /// A BCP 47 language tag (`nl-NL`, `en`).
        #[schema(schema_with = crate::input::shapes::locale)]
        pub default_locale: String,
    }
}
