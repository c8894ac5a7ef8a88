//! `/api/v1/suppressions`: addresses the tenant never emails (unsubscribed,
//! bounced, complained, or added by hand). Secret key only.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use cartback_domain::EmailAddress;
use cartback_store::suppressions::{
    Suppression, SuppressionReason, add_suppression, list_suppressions, remove_suppression,
};
use cartback_store::view::time;

use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::input::body::json_body;
use crate::input::fields::MAX_PAGE;
use crate::routes::Done;
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Suppression)]
pub(crate) struct Entry {
    email: String,
    /// `unsubscribed`, `bounced`, `complained` or `manual`.
    reason: String,
    #[schema(required = true)]
    note: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SuppressionPage {
    success: bool,
    /// Newest first.
    suppressions: Vec<Entry>,
    page: i64,
    per_page: i64,
    total: i64,
    total_pages: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SuppressionAdded {
    success: bool,
    /// Lower case.
    email: String,
    /// False when it was already listed (200).
    added: bool,
}

impl From<Suppression> for Entry {
    fn from(row: Suppression) -> Entry {
        Entry {
            email: row.email,
            reason: row.reason.as_str().to_owned(),
            note: row.note,
            created_at: time(row.created_at),
        }
    }
}

/// A whole-number query parameter, or `default` when absent.
fn number_param(
    query: &std::collections::HashMap<String, String>,
    name: &str,
    default: i64,
    problems: &mut Vec<FieldError>,
) -> i64 {
    match query.get(name).map(|v| v.parse::<i64>()) {
        None => default,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            problems.push(field(name, "must be a whole number"));
            default
        }
    }
}

/// `GET /api/v1/suppressions?page=1&per_page=50`, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/suppressions",
    tag = "suppressions",
    operation_id = "listSuppressions",
    summary = "Addresses the tenant never emails, newest first",
    params(request::SuppressionQuery),
    responses(
        (status = 200, description = "A page", body = SuppressionPage),
        (status = 422, description = "VALIDATION_ERROR: a bad `page` or `per_page`", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Vec::new();
    let query =
        web::Query::<std::collections::HashMap<String, String>>::from_query(request.query_string())
            .map(web::Query::into_inner)
            .unwrap_or_else(|_| {
                problems.push(field("query", "is not a valid query string"));
                Default::default()
            });
    let page = number_param(&query, "page", 1, &mut problems);
    let per_page = number_param(&query, "per_page", 50, &mut problems);
    if !(1..=MAX_PAGE).contains(&page) {
        problems.push(field("page", &format!("must be from 1 to {MAX_PAGE}")));
    }
    if !(1..=250).contains(&per_page) {
        problems.push(field("per_page", "must be 1 to 250"));
    }
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    let (rows, total) = state
        .db(move |conn| list_suppressions(conn, &caller.tenant.id, (page - 1) * per_page, per_page))
        .await?;
    Ok(HttpResponse::Ok().json(SuppressionPage {
        success: true,
        suppressions: rows.into_iter().map(Entry::from).collect(),
        page,
        per_page,
        total,
        total_pages: (total + per_page - 1) / per_page,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSuppression {
    email: String,
    reason: Option<String>,
    note: Option<String>,
}

fn field(name: &str, message: &str) -> FieldError {
    FieldError {
        field: name.into(),
        message: message.into(),
    }
}

/// `POST /api/v1/suppressions` `{"email", "reason"?, "note"?}`: 201 when added,
/// 200 when it was already there (the first reason stays).
#[utoipa::path(
    post,
    path = "/api/v1/suppressions",
    tag = "suppressions",
    operation_id = "addSuppression",
    summary = "Never email an address",
    request_body = request::NewSuppression,
    responses(
        (status = 201, description = "Added", body = SuppressionAdded),
        (status = 200, description = "Already listed (the first reason stays)", body = SuppressionAdded),
        (status = 400, description = "BAD_REQUEST: the body is not JSON", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn add(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&state, &request, payload).await?;
    let new: NewSuppression = serde_json::from_slice(&body).map_err(|e| {
        ApiError::validation(vec![field(
            "body",
            &format!("expected {{\"email\": …}}: {e}"),
        )])
    })?;
    let mut problems = Vec::new();
    let email = EmailAddress::parse(&new.email)
        .map_err(|e| problems.push(field("email", &e.to_string())))
        .ok();
    let reason = match new.reason.as_deref() {
        None => Some(SuppressionReason::Manual),
        Some(text) => SuppressionReason::parse(text).or_else(|| {
            problems.push(field(
                "reason",
                "must be unsubscribed, bounced, complained or manual",
            ));
            None
        }),
    };
    if new.note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        problems.push(field("note", "at most 500 characters"));
    }
    let (Some(email), Some(reason), true) = (email, reason, problems.is_empty()) else {
        return Err(ApiError::validation(problems));
    };
    let address = email.as_str().to_owned();
    let added = state
        .db(move |conn| {
            add_suppression(
                conn,
                &caller.tenant.id,
                &address,
                reason,
                new.note.as_deref(),
                Utc::now(),
            )
        })
        .await?;
    let answer = SuppressionAdded {
        success: true,
        email: email.as_str().to_lowercase(),
        added,
    };
    Ok(if added {
        HttpResponse::Created().json(answer)
    } else {
        HttpResponse::Ok().json(answer)
    })
}

/// `DELETE /api/v1/suppressions/{email}`: the address may be emailed again.
#[utoipa::path(
    delete,
    path = "/api/v1/suppressions/{email}",
    tag = "suppressions",
    operation_id = "removeSuppression",
    summary = "Allow an address again",
    params(("email" = String, Path, description = "The address, case-insensitively")),
    responses(
        (status = 200, description = "Removed", body = Done),
        (status = 404, description = "NOT_FOUND: the address is not listed", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn remove(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    email: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let email = email.into_inner();
    let removed = state
        .db(move |conn| remove_suppression(conn, &caller.tenant.id, &email))
        .await?;
    if !removed {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "that address is not on the suppression list",
        ));
    }
    Ok(HttpResponse::Ok().json(Done::SUCCESS))
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

    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct SuppressionQuery {
        #[param(minimum = 1, maximum = 1_000_000)]
        pub page: Option<i64>,
        #[param(minimum = 1, maximum = 250)]
        pub per_page: Option<i64>,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum SuppressionReason {
        Unsubscribed,
        Bounced,
        Complained,
        Manual,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct NewSuppression {
        #[schema(format = Email, min_length = 3, max_length = 320)]
        pub email: String,
        /// Default `manual`.
        pub reason: Option<SuppressionReason>,
        #[schema(max_length = 500)]
        pub note: Option<String>,
    }
}
