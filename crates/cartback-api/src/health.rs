use actix_web::{HttpRequest, HttpResponse, web};
use diesel::RunQueryDsl;
use serde_json::json;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    operation_id = "healthz",
    summary = "Liveness: the process answers",
    responses((status = 200, description = "`{\"status\": \"ok\"}`", body = crate::openapi::HealthStatus))
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Readiness: the database answers too.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    operation_id = "readyz",
    summary = "Readiness: the database answers too",
    responses(
        (status = 200, description = "`{\"status\": \"ready\"}`", body = crate::openapi::HealthStatus),
        (status = 503, description = "`{\"status\": \"database unavailable\"}`", body = crate::openapi::HealthStatus),
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store.clone();
    let ready = web::block(move || -> Result<(), cartback_store::StoreError> {
        let mut conn = store.conn()?;
        diesel::sql_query("SELECT 1").execute(&mut *conn)?;
        Ok(())
    })
    .await;
    match ready {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({"status": "ready"})),
        _ => HttpResponse::ServiceUnavailable().json(json!({"status": "database unavailable"})),
    }
}

/// Unknown routes and methods answer in the error envelope too.
pub async fn not_found(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        ErrorCode::NotFound,
        format!("no route for {} {}", request.method(), request.path()),
    ))
}
