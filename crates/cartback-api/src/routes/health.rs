use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Serialize;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// `/healthz` and `/readyz`.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct HealthStatus {
    /// `ok` (`/healthz`), `ready`, or `database unavailable` (`/readyz`).
    status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    operation_id = "healthz",
    summary = "Liveness: the process answers",
    responses((status = 200, description = "`{\"status\": \"ok\"}`", body = HealthStatus)),
    // Open to anyone: no key.
    security()
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus { status: "ok" })
}

/// Readiness: the database answers too.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    operation_id = "readyz",
    summary = "Readiness: the database answers too",
    responses(
        (status = 200, description = "`{\"status\": \"ready\"}`", body = HealthStatus),
        (status = 503, description = "`{\"status\": \"database unavailable\"}`", body = HealthStatus),
    ),
    // Open to anyone: no key.
    security()
)]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store.clone();
    let ready = web::block(move || store.ping()).await;
    match ready {
        Ok(Ok(())) => HttpResponse::Ok().json(HealthStatus { status: "ready" }),
        _ => HttpResponse::ServiceUnavailable().json(HealthStatus {
            status: "database unavailable",
        }),
    }
}

/// Unknown routes and methods answer in the error envelope too.
pub async fn not_found(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    // A known path asked with a method it does not serve: 405 naming the ones
    // it does, read from the route table.
    if let Some(allowed) = request
        .match_pattern()
        .or_else(|| request.resource_map().match_pattern(request.path()))
        .and_then(|pattern| allowed_methods().get(&pattern))
    {
        let mut response = ApiError::new(
            ErrorCode::MethodNotAllowed,
            format!(
                "{} is not allowed on {}; allowed: {allowed}",
                request.method(),
                request.path()
            ),
        )
        .error_response();
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(allowed) {
            response
                .headers_mut()
                .insert(actix_web::http::header::ALLOW, value);
        }
        return Ok(response);
    }
    Err(ApiError::new(
        ErrorCode::NotFound,
        format!("no route for {} {}", request.method(), request.path()),
    ))
}

/// Route pattern → its methods as an `Allow` value (`GET, PUT`), from the
/// route table the app registers.
fn allowed_methods() -> &'static std::collections::HashMap<String, String> {
    static ALLOWED: std::sync::OnceLock<std::collections::HashMap<String, String>> =
        std::sync::OnceLock::new();
    ALLOWED.get_or_init(|| {
        let mut by_path: std::collections::HashMap<String, Vec<String>> =
            std::collections::HashMap::new();
        for (method, path) in crate::routes() {
            by_path
                .entry(path.to_owned())
                .or_default()
                .push(method.to_string());
        }
        by_path
            .into_iter()
            .map(|(path, mut methods)| {
                methods.sort();
                (path, methods.join(", "))
            })
            .collect()
    })
}
