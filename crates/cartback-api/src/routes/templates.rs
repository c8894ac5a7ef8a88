//! `/api/v1/templates/{name}/{locale}`: a tenant's own email templates
//! (minijinja; the html part may be MJML). Each is checked when saved (known
//! variables only, the recovery and unsubscribe links present, compiled and
//! rendered against sample carts); one 422 lists every problem of every part,
//! each under its part (`subject`, `html`, `text`) with its line.
//! A policy step uses one with `"template": "custom:{name}"`. Secret key.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use cartback_domain::{parse_locale, parse_template_name};
use cartback_store::templates::{
    TemplateParts, delete_template, list_templates, save_template, templates_named,
};
use cartback_store::view::time;
use cartback_templates::{CustomTemplate, validate_custom};

use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::input::body::json_body;
use crate::routes::Done;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateBody {
    subject: String,
    html: String,
    text: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct TemplateList {
    success: bool,
    templates: Vec<TemplateSummary>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TemplateSummary {
    name: String,
    locale: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

/// One template with its parts.
#[derive(Serialize, ToSchema)]
pub(crate) struct Template {
    success: bool,
    name: String,
    locale: String,
    subject: String,
    html: String,
    text: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct TemplateSaved {
    success: bool,
    name: String,
    locale: String,
    /// What a policy step names to use it: `custom:{name}`.
    #[serde(rename = "use")]
    use_as: String,
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::validation(vec![FieldError {
        field: field.into(),
        message: message.into(),
    }])
}

/// The name and locale of the path, checked by the domain's rules (the
/// dashboard applies the same ones).
fn name_and_locale(path: (String, String)) -> Result<(String, String), ApiError> {
    let (name, locale) = path;
    parse_template_name(&name).map_err(|e| invalid("name", e.message))?;
    let locale = parse_locale(&locale).map_err(|e| invalid("locale", e.to_string()))?;
    Ok((name, locale))
}

#[utoipa::path(
    get,
    path = "/api/v1/templates",
    tag = "templates",
    operation_id = "listTemplates",
    summary = "The tenant's own templates",
    responses(
        (status = 200, description = "By name and locale", body = TemplateList),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
) -> Result<HttpResponse, ApiError> {
    let rows = state
        .db(move |conn| list_templates(conn, &caller.tenant.id))
        .await?;
    Ok(HttpResponse::Ok().json(TemplateList {
        success: true,
        templates: rows
            .into_iter()
            .map(|r| TemplateSummary {
                name: r.name,
                locale: r.locale,
                updated_at: time(r.updated_at),
            })
            .collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/templates/{name}/{locale}",
    tag = "templates",
    operation_id = "getTemplate",
    summary = "One of the tenant's templates",
    params(
        ("name" = String, Path, description = "1–64 of `a-z 0-9 _ -`", pattern = "^[a-z0-9_-]{1,64}$"),
        ("locale" = String, Path, description = "BCP 47 tag, normalised (`nl_nl` → `nl-NL`)", max_length = 35, pattern = "^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$"),
    ),
    responses(
        (status = 200, description = "The template", body = Template),
        (status = 404, description = "NOT_FOUND: no such template", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: a bad name or locale", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (name, locale) = name_and_locale(path.into_inner())?;
    let wanted = name.clone();
    let rows = state
        .db(move |conn| templates_named(conn, &caller.tenant.id, &[&wanted]))
        .await?;
    let row = rows
        .into_iter()
        .find(|r| r.locale == locale)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such template"))?;
    Ok(HttpResponse::Ok().json(Template {
        success: true,
        name: row.name,
        locale: row.locale,
        subject: row.subject,
        html: row.html,
        text: row.text,
    }))
}

#[utoipa::path(
    put,
    path = "/api/v1/templates/{name}/{locale}",
    tag = "templates",
    operation_id = "putTemplate",
    summary = "Save a template (checked against sample carts first)",
    description = "A policy step uses it with `\"template\": \"custom:{name}\"`. Refused with a 422 listing every problem of every part (`details[].field` is `subject`, `html` or `text`; the message names the line): an unknown variable (with the nearest known one), a syntax error, a render error with a sample cart, invalid MJML, and a missing recovery or unsubscribe link (the HTML needs `<a href=\"{{ recovery_url }}\">` and `<a href=\"{{ unsubscribe_url }}\">` with visible text, the text part both URLs).",
    params(
        ("name" = String, Path, description = "1–64 of `a-z 0-9 _ -`", pattern = "^[a-z0-9_-]{1,64}$"),
        ("locale" = String, Path, description = "BCP 47 tag, normalised (`nl_nl` → `nl-NL`)", max_length = 35, pattern = "^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$"),
    ),
    request_body = request::TemplateParts,
    responses(
        (status = 200, description = "Saved", body = TemplateSaved),
        (status = 400, description = "BAD_REQUEST: the body is not JSON", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: a bad name or locale, or every problem of the template, each under its part (`subject`, `html`, `text`) with its line", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn put(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (name, locale) = name_and_locale(path.into_inner())?;
    let body = json_body(&state, &request, payload).await?;
    let body: TemplateBody = serde_json::from_slice(&body).map_err(|e| {
        invalid(
            "body",
            format!("expected {{\"subject\", \"html\", \"text\"}}: {e}"),
        )
    })?;
    let template = CustomTemplate {
        subject: body.subject,
        html: body.html,
        text: body.text,
    };
    if let Err(invalid) = validate_custom(&template) {
        // Each message carries its part and line ("html line 3, column 7: …").
        let details: Vec<FieldError> = invalid
            .errors
            .iter()
            .map(|error| FieldError {
                field: error.part.as_str().to_owned(),
                message: error.to_string(),
            })
            .collect();
        let message = match details.as_slice() {
            [one] => one.message.clone(),
            all => format!("the template has {} problems (see details)", all.len()),
        };
        return Err(ApiError {
            code: ErrorCode::ValidationError,
            message,
            details,
        });
    }
    let (saved_name, saved_locale) = (name.clone(), locale.clone());
    state
        .db(move |conn| {
            save_template(
                conn,
                &caller.tenant.id,
                &saved_name,
                &saved_locale,
                TemplateParts {
                    subject: &template.subject,
                    html: &template.html,
                    text: &template.text,
                },
                Utc::now(),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(TemplateSaved {
        success: true,
        use_as: format!("custom:{name}"),
        name,
        locale,
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/templates/{name}/{locale}",
    tag = "templates",
    operation_id = "deleteTemplate",
    summary = "Remove a template",
    params(
        ("name" = String, Path, description = "1–64 of `a-z 0-9 _ -`", pattern = "^[a-z0-9_-]{1,64}$"),
        ("locale" = String, Path, description = "BCP 47 tag, normalised (`nl_nl` → `nl-NL`)", max_length = 35, pattern = "^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$"),
    ),
    responses(
        (status = 200, description = "Removed", body = Done),
        (status = 404, description = "NOT_FOUND: no such template", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: a bad name or locale", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (name, locale) = name_and_locale(path.into_inner())?;
    let removed = state
        .db(move |conn| delete_template(conn, &caller.tenant.id, &name, &locale))
        .await?;
    if !removed {
        return Err(ApiError::new(ErrorCode::NotFound, "no such template"));
    }
    Ok(HttpResponse::Ok().json(Done::SUCCESS))
}

/// The requests of these routes as the OpenAPI document shows them. Nothing
/// builds these types: the handlers read requests field by field
/// ([`crate::input`]), and schemathesis holds the document and the handlers
/// together.
pub(crate) mod request {
    use serde::Serialize;
    use utoipa::ToSchema;

    /// minijinja; `html` may be MJML. Each part at most 64 KiB.
    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct TemplateParts {
        /// Renders to something other than blanks.
        #[schema(pattern = "[^\\s\\u0085]")]
        pub subject: String,
        /// MJML (starting with `<mjml>`) or HTML; must have a visible link to
        /// `{{ recovery_url }}` and one to `{{ unsubscribe_url }}`.
        pub html: String,
        /// Must contain `{{ recovery_url }}` and `{{ unsubscribe_url }}`.
        pub text: String,
    }
}
