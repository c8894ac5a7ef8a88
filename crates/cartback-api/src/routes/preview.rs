//! `POST /api/v1/templates/preview`: renders any step of the tenant's recovery
//! email — its saved settings, or settings being edited — for a sample cart or
//! one of its real carts, as HTML and text. Nothing is sent or stored; the links
//! in a preview lead nowhere.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use cartback_domain::{Currency, RecoveryPolicy, parse_locale};
use cartback_store::carts::{find_cart, find_cart_by_session};
use cartback_store::templates::TemplateRow;
use cartback_store::templates::templates_named;
use cartback_store::tenants::find_tenant;
use cartback_templates::{
    CustomTemplate, Design, Experience, Preview, PreviewOf, custom_template_of, preview_context,
    render_preview,
};

use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::input::body::json_body;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PreviewRequest {
    /// 1-based step of the sequence (default 1).
    step: Option<u32>,
    /// BCP 47 tag; default: the cart's, else the tenant's default language.
    locale: Option<String>,
    /// A cart id or session id of the tenant; a sample cart when absent.
    cart_id: Option<String>,
    /// Email settings to try instead of the saved ones.
    email: Option<serde_json::Value>,
    /// A built-in design to try instead of the step's.
    design: Option<Design>,
}

/// A rendered step.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Preview)]
pub(crate) struct PreviewAnswer {
    success: bool,
    #[schema(value_type = i64)]
    step: u32,
    locale: String,
    /// A built-in design, or the step's `custom:{name}`.
    #[schema(required = true)]
    template: Option<String>,
    subject: String,
    html: String,
    text: String,
}

/// A stored template as `render_preview` takes it: its locale and parts.
fn custom_of_row(row: TemplateRow) -> (String, CustomTemplate) {
    (
        row.locale,
        CustomTemplate {
            subject: row.subject,
            html: row.html,
            text: row.text,
        },
    )
}

fn problem(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::validation(vec![FieldError {
        field: field.into(),
        message: message.into(),
    }])
}

#[utoipa::path(
    post,
    path = "/api/v1/templates/preview",
    tag = "templates",
    operation_id = "previewEmail",
    summary = "Render a step of the recovery email without sending or storing anything",
    request_body = request::PreviewRequest,
    responses(
        (status = 200, description = "The rendered email", body = PreviewAnswer),
        (status = 400, description = "BAD_REQUEST: the body is not JSON", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 404, description = "NOT_FOUND: no such cart for this tenant", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn preview(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&state, &request, payload).await?;
    let asked: PreviewRequest =
        crate::input::fields::typed(&body).map_err(|e| problem("body", e.to_string()))?;
    let step = asked.step.unwrap_or(1);
    if !(1..=RecoveryPolicy::MAX_STEPS as u32).contains(&step) {
        return Err(problem("step", "must be 1 to 10"));
    }
    let locale = match asked.locale.as_deref() {
        Some(text) => Some(parse_locale(text).map_err(|e| problem("locale", e.to_string()))?),
        None => None,
    };
    let tenant_id = caller.tenant.id.clone();
    let cart_id = asked.cart_id.clone();
    let (tenant, cart) = state
        .db(move |conn| -> cartback_store::StoreResult<_> {
            let tenant =
                find_tenant(conn, &tenant_id)?.ok_or(cartback_store::StoreError::NotFound)?;
            let cart = match cart_id {
                None => None,
                Some(id) => match find_cart(conn, &tenant_id, &id)? {
                    Some(cart) => Some(cart),
                    None => find_cart_by_session(conn, &tenant_id, &id)?,
                },
            };
            Ok((tenant, cart))
        })
        .await?;
    if asked.cart_id.is_some() && cart.is_none() {
        return Err(ApiError::new(ErrorCode::NotFound, "no such cart"));
    }
    let experience: Experience = match asked.email {
        Some(mut value) => {
            crate::routes::settings::drop_nulls(&mut value);
            if !value.is_object() {
                return Err(problem("email", "must be an object"));
            }
            let shapes = crate::routes::settings::copy_entries_are_objects(&value, "email");
            if !shapes.is_empty() {
                return Err(ApiError::validation(shapes));
            }
            serde_json::from_value(value).map_err(|e| problem("email", e.to_string()))?
        }
        None => serde_json::from_str(&tenant.experience).unwrap_or_default(),
    };
    experience
        .validate(&tenant.name)
        .map_err(|e| problem("email", e.to_string()))?;
    let policy = tenant.recovery_policy()?;
    let index = step - 1;
    let locale = locale
        .or_else(|| cart.as_ref().and_then(|c| c.locale.clone()))
        .or_else(|| experience.default_locale.clone())
        .unwrap_or_else(|| "en".to_owned());

    let base = format!(
        "{}://{}",
        request.connection_info().scheme(),
        request.connection_info().host()
    );
    let mut context = preview_context(&locale, &base);
    if let Some(cart) = &cart {
        context.items = cart.items.clone();
        context.currency = Currency::parse(&cart.currency)
            .map_err(|e| ApiError::internal(format!("cart currency: {e}")))?;
        context.total_minor = cart.total_minor;
        context.customer_name = cart.customer_name.clone();
    }
    // A step that uses the tenant's own template previews it, in the fitting locale.
    let custom = match custom_template_of(&policy, index).filter(|_| asked.design.is_none()) {
        None => Vec::new(),
        Some(name) => {
            let (tenant_id, name) = (tenant.id.clone(), name.to_owned());
            let rows = state
                .db(move |conn| templates_named(conn, &tenant_id, &[name.as_str()]))
                .await?;
            rows.into_iter().map(custom_of_row).collect()
        }
    };
    let of = PreviewOf {
        shop_name: &tenant.name,
        policy: &policy,
        experience: &experience,
        step: index,
        design: asked.design,
    };
    let Preview {
        template,
        email: rendered,
    } = render_preview(of, context, &custom).map_err(|e| problem("email", e.to_string()))?;
    Ok(HttpResponse::Ok().json(PreviewAnswer {
        success: true,
        step,
        locale,
        template: Some(template),
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
    }))
}

/// The requests of these routes as the OpenAPI document shows them. Nothing
/// builds these types: the handlers read requests field by field
/// ([`crate::input`]), and schemathesis holds the document and the handlers
/// together.
pub(crate) mod request {
    use serde::Serialize;
    use utoipa::ToSchema;

    use crate::input::documented::{Design, EmailSettingsInput};

    /// Every field optional; unknown ones are a 422.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct PreviewRequest {
        /// 1-based step, default 1.
        #[schema(minimum = 1, maximum = 10)]
        pub step: Option<i64>,
        /// Default: the cart's, else the tenant's default language.
        #[schema(max_length = 35, pattern = "^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$")]
        pub locale: Option<String>,
        /// A cart id or session id of the tenant; a sample cart when absent.
        pub cart_id: Option<String>,
        /// Email settings to try instead of the saved ones.
        pub email: Option<EmailSettingsInput>,
        /// A built-in design to try.
        pub design: Option<Design>,
    }
}
