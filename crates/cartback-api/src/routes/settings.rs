//! `GET/PUT/PATCH /api/v1/settings/recovery`: the tenant's recovery policy
//! (steps, caps, cooldown, quiet hours, consent) and the look and words of its
//! emails. A PUT replaces the whole document (both parts are required; a field
//! left out inside one takes its default); a PATCH is a JSON Merge Patch
//! (RFC 7396) of the stored document, whose result is validated as a PUT's
//! body would be. Every problem is named with its field path in one 422.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use cartback_domain::{AttributionMode, QuietHours, RecoveryPolicy, RecoveryStep, StepSettings};
use cartback_store::tenants::{Tenant, edit_recovery_settings, find_tenant};
use cartback_templates::{BrandColor, Design, Experience, StepCopy};

use crate::auth::SecretCaller;
use crate::error::{ApiError, FieldError};
use crate::input::body::json_body;
use crate::input::merge_patch::merge_patch;
use crate::state::AppState;

/// Moves every field of a struct into one with the same field names. Naming
/// them all (no `..`) makes a field added to the source a compile error here
/// until the answer, and so its schema, shows it.
macro_rules! move_fields {
    ($value:expr, $from:ident => $to:ident { $($field:ident),* $(,)? }) => {{
        let $from { $($field),* } = $value;
        $to { $($field),* }
    }};
}

/// The policy and the email settings as stored.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RecoverySettings {
    success: bool,
    policy: PolicyView,
    email: EmailView,
}

impl RecoverySettings {
    fn of(policy: RecoveryPolicy, email: Experience) -> RecoverySettings {
        RecoverySettings {
            success: true,
            policy: PolicyView::from(policy),
            email: EmailView::from(email),
        }
    }
}

// Its parts are the domain's own types, described by the schemas requests
// share (`crate::openapi`).
/// The recovery policy as stored.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = RecoveryPolicy)]
pub(crate) struct PolicyView {
    #[schema(value_type = Vec<crate::input::documented::RecoveryStep>)]
    steps: Vec<RecoveryStep>,
    #[schema(value_type = Vec<crate::input::documented::StepSettings>)]
    step_settings: Vec<StepSettings>,
    #[schema(minimum = 1, maximum = 10)]
    max_emails_per_cart: u32,
    /// Recovery emails one address may get in any 24 hours, across its carts;
    /// 0 turns the cap off. Default 3.
    #[schema(minimum = 0, maximum = 50)]
    max_emails_per_address_per_day: u32,
    #[schema(minimum = 0, maximum = 100_000_000_000_000_i64)]
    min_cart_value_minor: i64,
    /// At most 3 × 365 days.
    #[schema(minimum = 1, maximum = 94_608_000_000_u64)]
    expire_after_ms: u64,
    /// At most 365 days.
    #[schema(minimum = 0, maximum = 31_536_000_000_u64)]
    attribution_window_ms: u64,
    #[schema(value_type = request::AttributionMode)]
    attribution_mode: AttributionMode,
    /// At most 90 days; 0 turns the rule off.
    #[schema(minimum = 0, maximum = 7_776_000_000_u64)]
    customer_cooldown_ms: u64,
    #[schema(required = true, value_type = Option<request::QuietHours>)]
    quiet_hours: Option<QuietHours>,
    /// IANA zone, default `UTC`.
    time_zone: String,
    require_consent: bool,
}

impl From<RecoveryPolicy> for PolicyView {
    fn from(policy: RecoveryPolicy) -> PolicyView {
        move_fields!(policy, RecoveryPolicy => PolicyView {
            steps,
            step_settings,
            max_emails_per_cart,
            max_emails_per_address_per_day,
            min_cart_value_minor,
            expire_after_ms,
            attribution_window_ms,
            attribution_mode,
            customer_cooldown_ms,
            quiet_hours,
            time_zone,
            require_consent,
        })
    }
}

/// The look and words of the emails, as stored (unset fields left out).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = EmailSettings)]
pub(crate) struct EmailView {
    #[schema(value_type = crate::input::documented::Design)]
    design: Design,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    logo_url: Option<String>,
    /// `#rrggbb`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    brand_color: Option<BrandColor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    button_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    sender_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    footer_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    default_locale: Option<String>,
    /// Locale → one entry per step.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = BTreeMap<String, Vec<crate::input::documented::StepCopy>>)]
    copy: BTreeMap<String, Vec<StepCopy>>,
}

impl From<Experience> for EmailView {
    fn from(email: Experience) -> EmailView {
        move_fields!(email, Experience => EmailView {
            design,
            logo_url,
            brand_color,
            button_text,
            sender_name,
            footer_address,
            default_locale,
            copy,
        })
    }
}

/// The two parts of the document, as a PUT must send them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecoverySettingsUpdate {
    policy: Option<serde_json::Value>,
    email: Option<serde_json::Value>,
}

/// The top-level members of the document.
const PARTS: [&str; 2] = ["policy", "email"];

fn invalid(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// Leaves out the fields of the email settings given as null: null means
/// "not set", as the document says, also for the fields that have a default
/// (`design`, `copy`) and would refuse a null.
pub(crate) fn drop_nulls(email: &mut serde_json::Value) {
    if let Some(fields) = email.as_object_mut() {
        fields.retain(|_, value| !value.is_null());
    }
}

/// Every step of `copy` must be an object: serde would read a step from an
/// array as well (`[null, null]`), which the document does not allow.
pub(crate) fn copy_entries_are_objects(email: &serde_json::Value, path: &str) -> Vec<FieldError> {
    let Some(copy) = email.get("copy").and_then(serde_json::Value::as_object) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for (locale, steps) in copy {
        for (index, step) in steps.as_array().into_iter().flatten().enumerate() {
            if !step.is_object() {
                let shown: String = locale.chars().take(40).collect();
                problems.push(invalid(
                    format!("{path}.copy.{shown}[{index}]"),
                    "must be an object",
                ));
            }
        }
    }
    problems
}

fn stored_experience(text: &str) -> Experience {
    serde_json::from_str(text).unwrap_or_default()
}

#[utoipa::path(
    get,
    path = "/api/v1/settings/recovery",
    tag = "settings",
    operation_id = "getRecoverySettings",
    summary = "The recovery policy and the look and words of the emails",
    responses(
        (status = 200, description = "The settings", body = RecoverySettings),
        (status = 404, description = "NOT_FOUND: the tenant was deleted meanwhile", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
) -> Result<HttpResponse, ApiError> {
    // Read afresh: the caller's tenant may be a few seconds old (auth cache).
    let tenant = state
        .db(move |conn| find_tenant(conn, &caller.tenant.id))
        .await?
        .ok_or(cartback_store::StoreError::NotFound)?;
    Ok(HttpResponse::Ok().json(RecoverySettings::of(
        tenant.recovery_policy()?,
        stored_experience(&tenant.experience),
    )))
}

/// The stored document, as a PATCH merges into it: the policy and the email
/// settings exactly as a GET shows them.
fn stored_document(tenant: &Tenant) -> Result<Value, ApiError> {
    let policy = serde_json::to_value(tenant.recovery_policy()?).map_err(ApiError::internal)?;
    let email =
        serde_json::to_value(stored_experience(&tenant.experience)).map_err(ApiError::internal)?;
    Ok(json!({ "policy": policy, "email": email }))
}

/// Reads a whole document's two parts (a PUT's body, or the stored document
/// with a PATCH merged in): the policy and the email settings with every
/// field left out at its default, or every problem with its field path.
fn read_document(
    policy: Value,
    mut email: Value,
    shop_name: &str,
) -> Result<(RecoveryPolicy, Experience), Vec<FieldError>> {
    let mut problems = Vec::new();
    // serde reads a struct from an array too (`"policy": [1]`): only objects.
    for (name, part) in [("policy", &policy), ("email", &email)] {
        if !part.is_object() {
            problems.push(invalid(name, "must be an object"));
        }
    }
    drop_nulls(&mut email);
    problems.extend(copy_entries_are_objects(&email, "email"));
    if !problems.is_empty() {
        return Err(problems);
    }
    let policy = match serde_json::from_value::<RecoveryPolicy>(policy) {
        Err(e) => {
            problems.push(invalid("policy", e.to_string()));
            None
        }
        Ok(policy) => {
            problems.extend(policy.problems().into_iter().map(|p| {
                let field = match p.field {
                    Some(path) => format!("policy.{path}"),
                    None => "policy".to_owned(),
                };
                invalid(field, p.message)
            }));
            Some(policy)
        }
    };
    let experience = match serde_json::from_value::<Experience>(email) {
        Err(e) => {
            problems.push(invalid("email", e.to_string()));
            None
        }
        Ok(experience) => {
            if let Err(e) = experience.validate(shop_name) {
                problems.push(invalid("email", e.to_string()));
            }
            Some(experience)
        }
    };
    match (policy, experience) {
        (Some(policy), Some(experience)) if problems.is_empty() => Ok((policy, experience)),
        _ => Err(problems),
    }
}

/// Stores the document `next` works out from the stored tenant (in one
/// transaction with the read) and answers with what is now stored.
async fn store_document(
    state: &AppState,
    tenant_id: String,
    next: impl FnOnce(&Tenant) -> Result<(RecoveryPolicy, Experience), ApiError> + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    let outcome = state
        .db(move |conn| {
            edit_recovery_settings::<ApiError>(conn, &tenant_id, Utc::now().naive_utc(), |tenant| {
                let (policy, experience) = next(tenant)?;
                let experience_json =
                    serde_json::to_string(&experience).map_err(ApiError::internal)?;
                Ok((policy, experience_json))
            })
        })
        .await?;
    let (policy, experience_json) = outcome?;
    Ok(HttpResponse::Ok().json(RecoverySettings::of(
        policy,
        stored_experience(&experience_json),
    )))
}

#[utoipa::path(
    put,
    path = "/api/v1/settings/recovery",
    tag = "settings",
    operation_id = "putRecoverySettings",
    summary = "Replace the whole document: the policy and the email settings",
    description = "Both `policy` and `email` are required (`{}` is every default); inside \
        each, a field left out takes its default, not the stored value. To change some \
        fields and keep the rest, use `PATCH`. See docs/api.md, \"Changing settings\".",
    request_body = request::RecoverySettingsDocument,
    responses(
        (status = 200, description = "The settings now stored", body = RecoverySettings),
        (status = 400, description = "BAD_REQUEST: the body is not JSON", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 404, description = "NOT_FOUND: the tenant was deleted meanwhile", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: every problem with its field path (`policy.steps[1].delayMs`); a part left out is `policy` or `email`, \"required\"", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn put(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&state, &request, payload).await?;
    let update: RecoverySettingsUpdate = crate::input::fields::typed(&body).map_err(|e| {
        ApiError::validation(vec![invalid(
            "body",
            format!("expected {{\"policy\": {{…}}, \"email\": {{…}}}}: {e}"),
        )])
    })?;
    let (Some(policy), Some(email)) = (update.policy.clone(), update.email.clone()) else {
        let missing = [("policy", &update.policy), ("email", &update.email)]
            .into_iter()
            .filter(|(_, part)| part.is_none())
            .map(|(name, _)| {
                invalid(
                    name,
                    "required: a PUT replaces the whole document (`{}` is every default); \
                     to change some fields only, send a PATCH",
                )
            })
            .collect();
        return Err(ApiError::validation(missing));
    };
    let answer = store_document(&state, caller.tenant.id.clone(), move |tenant| {
        read_document(policy, email, &tenant.name).map_err(ApiError::validation)
    })
    .await?;
    tracing::info!(tenant = %caller.tenant.id, "recovery settings replaced");
    Ok(answer)
}

#[utoipa::path(
    patch,
    path = "/api/v1/settings/recovery",
    tag = "settings",
    operation_id = "patchRecoverySettings",
    summary = "Change some fields of the policy or the email settings, keeping the rest",
    description = "A JSON Merge Patch (RFC 7396) of the document `GET` shows: an object merges \
        field by field, `null` resets a field to its default (`\"quietHours\": null` turns \
        quiet hours off, `\"policy\": null` resets the whole policy), and an array or a value \
        replaces the stored one (`steps` is sent whole). The merged document is validated as a \
        `PUT` body would be. `Content-Type: application/merge-patch+json` or `application/json`. \
        See docs/api.md, \"Changing settings\".",
    request_body(content((request::RecoverySettingsPatch = "application/merge-patch+json"))),
    responses(
        (status = 200, description = "The settings now stored, the whole document", body = RecoverySettings),
        (status = 400, description = "BAD_REQUEST: the body is not a JSON object", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 404, description = "NOT_FOUND: the tenant was deleted meanwhile", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: every problem of the merged document with its field path (`policy.expireAfterMs`), or an unknown top-level field", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn patch(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&state, &request, payload).await?;
    let patch: serde_json::Map<String, Value> =
        crate::input::fields::typed(&body).map_err(|e| crate::input::body::malformed(&e))?;
    let mut problems = Vec::new();
    for (name, part) in &patch {
        if !PARTS.contains(&name.as_str()) {
            let shown: String = name.chars().take(60).collect();
            problems.push(invalid(
                shown,
                "unknown field: expected `policy` or `email`",
            ));
        } else if !(part.is_object() || part.is_null()) {
            problems.push(invalid(
                name.clone(),
                "must be an object, or null for the defaults",
            ));
        }
    }
    if let Some(email) = patch.get("email") {
        problems.extend(copy_entries_are_objects(email, "email"));
    }
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    let patch = Value::Object(patch);
    let answer = store_document(&state, caller.tenant.id.clone(), move |tenant| {
        let mut document = stored_document(tenant)?;
        merge_patch(&mut document, &patch);
        let part = |name: &str| document.get(name).cloned().unwrap_or_else(|| json!({}));
        read_document(part("policy"), part("email"), &tenant.name).map_err(ApiError::validation)
    })
    .await?;
    tracing::info!(tenant = %caller.tenant.id, "recovery settings changed");
    Ok(answer)
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
    use std::collections::BTreeMap;

    use serde::Serialize;
    use utoipa::ToSchema;

    use crate::input::documented::{
        Design, EmailSettingsInput, RecoveryStep, StepCopy, StepSettings,
    };

    /// A daily window (`HH:MM`, local time) when no email goes out.
    #[derive(Serialize, ToSchema)]
    pub struct QuietHours {
        #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
        pub start: String,
        /// Different from `start`, leaving at least an hour a day open.
        #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
        pub end: String,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum AttributionMode {
        Sent,
        Clicked,
    }

    /// A policy to store: fields left out take their defaults.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct RecoveryPolicyInput {
        /// 1 to 10 steps, strictly increasing.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Vec<RecoveryStep>, min_items = 1, max_items = 10)]
        pub steps: Option<Vec<RecoveryStep>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Vec<StepSettings>, max_items = 10)]
        pub step_settings: Option<Vec<StepSettings>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = u32, minimum = 1, maximum = 10)]
        pub max_emails_per_cart: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = u32, minimum = 0, maximum = 50)]
        pub max_emails_per_address_per_day: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = i64, minimum = 0, maximum = 100_000_000_000_000_i64)]
        pub min_cart_value_minor: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = u64, minimum = 1, maximum = 94_608_000_000_u64)]
        pub expire_after_ms: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = u64, minimum = 0, maximum = 31_536_000_000_u64)]
        pub attribution_window_ms: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = AttributionMode)]
        pub attribution_mode: Option<AttributionMode>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = u64, minimum = 0, maximum = 7_776_000_000_u64)]
        pub customer_cooldown_ms: Option<u64>,
        pub quiet_hours: Option<QuietHours>,
        /// An IANA zone name; default `UTC`.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(schema_with = crate::input::shapes::time_zone)]
        pub time_zone: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schema(value_type = bool)]
        pub require_consent: Option<bool>,
    }

    /// The whole document, as a `PUT` replaces it: both parts required; a
    /// field left out inside one takes its default.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct RecoverySettingsDocument {
        pub policy: RecoveryPolicyInput,
        pub email: EmailSettingsInput,
    }

    /// A change to some fields of the policy (JSON Merge Patch): a field left
    /// out stays as stored, `null` resets it to its default, a value (an array
    /// too: `steps` is sent whole) replaces it.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct RecoveryPolicyPatch {
        /// 1 to 10 steps, strictly increasing; null: the default 1 h, 24 h, 72 h.
        #[schema(min_items = 1, max_items = 10)]
        pub steps: Option<Vec<RecoveryStep>>,
        /// No more entries than the resulting policy has steps; null: none.
        #[schema(max_items = 10)]
        pub step_settings: Option<Vec<StepSettings>>,
        #[schema(minimum = 1, maximum = 10)]
        pub max_emails_per_cart: Option<u32>,
        #[schema(minimum = 0, maximum = 50)]
        pub max_emails_per_address_per_day: Option<u32>,
        #[schema(minimum = 0, maximum = 100_000_000_000_000_i64)]
        pub min_cart_value_minor: Option<i64>,
        /// After the resulting policy's last step.
        #[schema(minimum = 1, maximum = 94_608_000_000_u64)]
        pub expire_after_ms: Option<u64>,
        #[schema(minimum = 0, maximum = 31_536_000_000_u64)]
        pub attribution_window_ms: Option<u64>,
        pub attribution_mode: Option<AttributionMode>,
        #[schema(minimum = 0, maximum = 7_776_000_000_u64)]
        pub customer_cooldown_ms: Option<u64>,
        /// Null turns quiet hours off. An object merges: `{"end": "09:00"}`
        /// keeps the stored start (without one, both are needed).
        pub quiet_hours: Option<QuietHours>,
        /// Null: `UTC`.
        #[schema(schema_with = crate::input::shapes::optional_time_zone)]
        pub time_zone: Option<String>,
        pub require_consent: Option<bool>,
    }

    /// A change to some fields of the email settings (JSON Merge Patch): a
    /// field left out stays as stored, `null` resets it (unset; `design` back
    /// to `minimal`), a value replaces it. `copy` merges per locale: a locale
    /// given replaces that locale's list, a locale given as null removes it.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct EmailSettingsPatch {
        pub design: Option<Design>,
        /// An absolute http(s) URL, at most 2048 characters.
        #[schema(schema_with = crate::input::shapes::logo_url)]
        pub logo_url: Option<String>,
        /// `#rgb` or `#rrggbb`.
        #[schema(pattern = "^\\s*#([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})\\s*$")]
        pub brand_color: Option<String>,
        /// Up to 200 characters, no control characters.
        #[schema(schema_with = crate::input::shapes::short_text)]
        pub button_text: Option<String>,
        /// Up to 200 characters, no control characters.
        #[schema(schema_with = crate::input::shapes::short_text)]
        pub sender_name: Option<String>,
        /// Up to 500 characters; line breaks allowed.
        #[schema(schema_with = crate::input::shapes::address_text)]
        pub footer_address: Option<String>,
        pub default_locale: Option<String>,
        /// Locale → one entry per step, or null to remove the locale; at most
        /// 50 locales of 10 steps once merged.
        #[schema(schema_with = crate::input::shapes::copy_patch)]
        pub copy: Option<BTreeMap<String, Vec<StepCopy>>>,
    }

    /// A JSON Merge Patch (RFC 7396) of the recovery settings: either part,
    /// both, or null to reset a part to its defaults.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct RecoverySettingsPatch {
        pub policy: Option<RecoveryPolicyPatch>,
        pub email: Option<EmailSettingsPatch>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answer shows the stored policy and email settings exactly as their
    /// own types serialize them.
    #[test]
    fn the_answer_serializes_like_the_stored_types() {
        let policy = RecoveryPolicy {
            quiet_hours: Some(QuietHours {
                start: "22:00".into(),
                end: "08:00".into(),
            }),
            ..RecoveryPolicy::default()
        };
        let full: Experience = serde_json::from_value(serde_json::json!({
            "design": "text_first", "brandColor": "#0f766e", "senderName": "Acme",
            "copy": {"nl": [{"subject": "Je mandje wacht"}]},
        }))
        .unwrap();
        for email in [Experience::default(), full] {
            let answer =
                serde_json::to_string(&RecoverySettings::of(policy.clone(), email.clone()))
                    .unwrap();
            let expected = format!(
                r#"{{"success":true,"policy":{},"email":{}}}"#,
                serde_json::to_string(&policy).unwrap(),
                serde_json::to_string(&email).unwrap()
            );
            assert_eq!(answer, expected);
        }
    }
}
