//! Retargeting's partner API (seed 002), answered from cartback's own counts:
//! `GET /v1/partners-api/shopping-carts?rest_key=…&date_from=…&date_to=…`.
//!
//! The numbers are those of `GET /api/v1/stats/carts` (the same store
//! function over the same interval rules); only the wire shape is
//! Retargeting's: `{"status": "success", "data": {...}}`, an `error` with a
//! message, or a `fail` with Laravel-style validator messages. The REST key is
//! the tenant's secret key (see docs/compat.md for why it may travel in a URL
//! here and what that costs).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Serialize;
use serde_json::json;

use cartback_domain::{MAX_COUNT_INTERVAL_DAYS, count_interval};
use cartback_store::analytics::count_abandoned_recovered;
use cartback_store::api_keys::KeyKind;

use crate::auth::authenticate_key;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The success answer.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = RetargetingCounts)]
pub(crate) struct Counts {
    /// Always `success`.
    status: &'static str,
    data: CountsData,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = RetargetingCountsData)]
pub(crate) struct CountsData {
    /// Carts abandoned in the interval.
    #[schema(value_type = u64)]
    abandoned: i64,
    /// Orders attributed as recovered in the interval.
    #[schema(value_type = u64)]
    recovered: i64,
}

/// An `error` answer: `{"status": "error", "message": "..."}`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = RetargetingError)]
pub(crate) struct ErrorAnswer {
    /// Always `error`.
    status: &'static str,
    /// `Incorrect rest key!`, `Your account is not active!`, `Interval is
    /// greater than 30 days` or `Something went wrong`.
    message: &'static str,
}

/// The seed's messages, word for word: its clients may compare them.
const INCORRECT_KEY: &str = "Incorrect rest key!";
const NOT_ACTIVE: &str = "Your account is not active!";
const INTERVAL_TOO_LONG: &str = "Interval is greater than 30 days";
const WENT_WRONG: &str = "Something went wrong";

fn error(status: StatusCode, message: &'static str) -> HttpResponse {
    HttpResponse::build(status).json(ErrorAnswer {
        status: "error",
        message,
    })
}

/// A `fail` answer: one field's validator messages, Laravel's shape.
fn fail(field: &str, message: &str) -> HttpResponse {
    HttpResponse::UnprocessableEntity().json(json!({
        "status": "fail",
        "data": {"validator": {field: [message]}}
    }))
}

/// Cartback's own failures in the seed's words; the cause is logged where it
/// was raised.
fn failure(error: &ApiError) -> HttpResponse {
    match error.code {
        ErrorCode::Unauthorized | ErrorCode::Forbidden => {
            self::error(StatusCode::UNAUTHORIZED, INCORRECT_KEY)
        }
        ErrorCode::TenantInactive => self::error(StatusCode::FORBIDDEN, NOT_ACTIVE),
        ErrorCode::ServiceUnavailable => self::error(StatusCode::SERVICE_UNAVAILABLE, WENT_WRONG),
        _ => self::error(StatusCode::INTERNAL_SERVER_ERROR, WENT_WRONG),
    }
}

/// The query's value of `name`; a repeated parameter keeps the last, as PHP does.
fn parameter(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
        .filter(|value| !value.trim().is_empty())
}

/// Laravel's `integer` rule on a unix time.
fn unix_seconds(value: Option<&str>, label: &str) -> Result<Option<i64>, String> {
    match value {
        None => Ok(None),
        Some(text) => match text.trim().parse::<i64>() {
            Ok(seconds) if seconds >= 0 => Ok(Some(seconds)),
            Ok(_) => Err(format!("The {label} field must be at least 0.")),
            Err(_) => Err(format!("The {label} field must be an integer.")),
        },
    }
}

/// `GET /v1/partners-api/shopping-carts`.
#[utoipa::path(
    get,
    path = "/v1/partners-api/shopping-carts",
    tag = "compat-retargeting",
    operation_id = "retargetingShoppingCarts",
    summary = "Retargeting partner API: abandoned and recovered carts over a unix interval (seed 002)",
    description = "Wire-compatible with Retargeting's partner API. `rest_key` is the shop's \
        secret key. Without dates: the last 30 days; `date_from` alone: up to now; the interval \
        may not exceed 30 days. Counts equal `GET /api/v1/stats/carts` over the same interval.",
    params(
        ("rest_key" = String, Query, description = "The shop's secret key (`sk_…`)"),
        ("date_from" = Option<i64>, Query, description = "Unix seconds; required when `date_to` is given; default 30 days ago"),
        ("date_to" = Option<i64>, Query, description = "Unix seconds; default now"),
    ),
    responses(
        (status = 200, description = "`{\"status\": \"success\", \"data\": {\"abandoned\": 8, \"recovered\": 5}}`", body = Counts),
        (status = 401, description = "`Incorrect rest key!`: no key, an unknown or revoked one, or a publishable key", body = ErrorAnswer),
        (status = 403, description = "`Your account is not active!`: the shop is suspended or closed", body = ErrorAnswer),
        (status = 422, description = "`Interval is greater than 30 days` (`status: error`), or `status: fail` with `data.validator` naming the bad parameter (`date_from` required with `date_to`, not an integer, negative, after `date_to`)", body = ErrorAnswer),
        (status = 500, description = "`Something went wrong` (503 when the database is away for a moment)", body = ErrorAnswer),
    ),
    security(("RestKey" = ["secret"])),
)]
pub async fn shopping_carts(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    let Ok(pairs) = web::Query::<Vec<(String, String)>>::from_query(request.query_string()) else {
        return error(StatusCode::UNAUTHORIZED, INCORRECT_KEY);
    };
    let pairs = pairs.into_inner();
    let Some(key) = parameter(&pairs, "rest_key") else {
        return error(StatusCode::UNAUTHORIZED, INCORRECT_KEY);
    };
    let caller = match authenticate_key(&state, key.trim()).await {
        Ok(caller) if caller.kind == KeyKind::Secret => caller,
        Ok(_) => return error(StatusCode::UNAUTHORIZED, INCORRECT_KEY),
        Err(refused) => return failure(&refused),
    };
    let date_from = match unix_seconds(parameter(&pairs, "date_from").as_deref(), "date from") {
        Ok(seconds) => seconds,
        Err(message) => return fail("date_from", &message),
    };
    let date_to = match unix_seconds(parameter(&pairs, "date_to").as_deref(), "date to") {
        Ok(seconds) => seconds,
        Err(message) => return fail("date_to", &message),
    };
    if date_to.is_some() && date_from.is_none() {
        return fail(
            "date_from",
            "The date from field is required when date to is present.",
        );
    }
    let now = Utc::now();
    let (from, to) = match count_interval(date_from, date_to, now) {
        Ok(interval) => interval,
        Err(refused) => {
            let end = date_to.unwrap_or_else(|| now.timestamp());
            let longest = MAX_COUNT_INTERVAL_DAYS * 86_400;
            return match date_from {
                Some(start) if end.saturating_sub(start) > longest => {
                    error(StatusCode::UNPROCESSABLE_ENTITY, INTERVAL_TOO_LONG)
                }
                _ if refused.field.as_deref() == Some("date_to") => fail(
                    "date_to",
                    "The date to field must be greater than or equal to date from.",
                ),
                _ => fail(
                    "date_from",
                    "The date from field must be a date before or equal to now.",
                ),
            };
        }
    };
    let tenant_id = caller.tenant.id.clone();
    match state
        .db(move |conn| count_abandoned_recovered(conn, &tenant_id, from, to))
        .await
    {
        Ok((abandoned, recovered)) => HttpResponse::Ok().json(Counts {
            status: "success",
            data: CountsData {
                abandoned,
                recovered,
            },
        }),
        Err(refused) => failure(&refused),
    }
}
