//! Reports for the merchant (secret key):
//!
//! - `GET /api/v1/analytics`: summary, daily rows in the tenant's time zone and
//!   the per-step funnel of a period (`period=today|7d|30d|90d|month|year`,
//!   or `startDate`/`endDate` as local dates);
//! - `GET /api/v1/stats/carts`: abandoned and recovered counts over a unix
//!   interval (`date_from`, `date_to`), with the rules of Retargeting's
//!   partner API.
//!
//! The arithmetic is [`cartback_domain::analyze`]; the rows come from
//! [`cartback_store::analytics`].

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;

use cartback_domain::{
    Analytics, AnalyticsPeriod, DailyStats, FunnelStep, GroupTally, InvalidValue, Lift, Money,
    PeriodPreset, Verdict, compare, count_interval,
};
use cartback_store::analytics::{count_abandoned_recovered, tenant_report};
use cartback_store::experiments::{ExperimentRow, experiment_tallies, latest_holdout};

use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::input::Problems;
use crate::input::fields::exact_date;
use crate::state::AppState;

/// The query's parameters among `known`, each at most once; others are ignored.
fn parameters(
    request: &HttpRequest,
    known: &[&'static str],
    problems: &mut Problems,
) -> Vec<(&'static str, String)> {
    let pairs = match web::Query::<Vec<(String, String)>>::from_query(request.query_string()) {
        Ok(pairs) => pairs.into_inner(),
        Err(_) => {
            problems.add("query", "is not a valid query string");
            return Vec::new();
        }
    };
    let mut found: Vec<(&'static str, String)> = Vec::new();
    for (key, value) in pairs {
        let Some(name) = known.iter().copied().find(|k| *k == key) else {
            continue;
        };
        if found.iter().any(|(k, _)| *k == name) {
            if !problems.0.iter().any(|p| p.field == name) {
                problems.add(name, "must be given at most once");
            }
            continue;
        }
        found.push((name, value));
    }
    found
}

fn get<'a>(params: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.as_str())
}

fn field_error(error: InvalidValue, default_field: &str) -> FieldError {
    FieldError {
        field: error.field.unwrap_or_else(|| default_field.to_owned()),
        message: error.message,
    }
}

/// What the caller asked for, before the tenant's time zone turns it into
/// instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PeriodRequest {
    /// A named period up to now.
    Preset(PeriodPreset),
    /// Local dates, inclusive.
    Dates(NaiveDate, NaiveDate),
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::validation(vec![FieldError {
        field: field.to_owned(),
        message: message.to_owned(),
    }])
}

fn period_request(request: &HttpRequest) -> Result<PeriodRequest, ApiError> {
    let mut problems = Problems::default();
    let params = parameters(request, &["period", "startDate", "endDate"], &mut problems);
    problems.check()?;
    let period = get(&params, "period");
    let start = get(&params, "startDate");
    let end = get(&params, "endDate");

    if period.is_some() && (start.is_some() || end.is_some()) {
        return Err(invalid(
            "period",
            "give either period or startDate and endDate, not both",
        ));
    }
    if let Some(text) = period {
        return PeriodPreset::parse(text)
            .map(PeriodRequest::Preset)
            .map_err(|e| ApiError::validation(vec![field_error(e, "period")]));
    }
    if start.is_none() && end.is_none() {
        return Ok(PeriodRequest::Preset(PeriodPreset::DEFAULT));
    }
    let mut problems = Problems::default();
    let mut date = |name: &str, value: Option<&str>, other: &str| match value {
        None => {
            problems.add(name, format!("is required when {other} is present"));
            None
        }
        Some(text) => exact_date(text).or_else(|| {
            problems.add(name, "must be a date as YYYY-MM-DD");
            None
        }),
    };
    let first = date("startDate", start, "endDate");
    let last = date("endDate", end, "startDate");
    match (first, last) {
        (Some(first), Some(last)) => Ok(PeriodRequest::Dates(first, last)),
        _ => Err(ApiError::validation(problems.0)),
    }
}

fn resolve(
    asked: PeriodRequest,
    now: DateTime<Utc>,
    zone: cartback_domain::Tz,
) -> Result<AnalyticsPeriod, ApiError> {
    let period = match asked {
        PeriodRequest::Preset(preset) => preset
            .period(now, zone)
            .map_err(|e| field_error(e, "period")),
        PeriodRequest::Dates(first, last) => {
            AnalyticsPeriod::local_days(first, last, zone).map_err(|e| field_error(e, "endDate"))
        }
    };
    period.map_err(|e| ApiError::validation(vec![e]))
}

fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One currency's sum: exact minor units and the decimal text.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AnalyticsAmount)]
pub(crate) struct Amount {
    currency: &'static str,
    amount_minor: i64,
    #[schema(pattern = "^-?[0-9]+(\\.[0-9]+)?$")]
    amount: String,
}

fn amounts(list: &[Money]) -> Vec<Amount> {
    list.iter()
        .map(|m| Amount {
            currency: m.currency().code(),
            amount_minor: m.minor(),
            amount: m.to_major_string(),
        })
        .collect()
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AnalyticsDay)]
pub(crate) struct Day {
    #[schema(format = Date)]
    date: String,
    abandoned: u64,
    recovered: u64,
    converted: u64,
    abandoned_value: Vec<Amount>,
    recovered_revenue: Vec<Amount>,
}

impl From<&DailyStats> for Day {
    fn from(day: &DailyStats) -> Day {
        Day {
            date: day.date.format("%Y-%m-%d").to_string(),
            abandoned: day.abandoned,
            recovered: day.recovered,
            converted: day.converted,
            abandoned_value: amounts(&day.abandoned_value),
            recovered_revenue: amounts(&day.recovered_revenue),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = FunnelStep)]
pub(crate) struct Step {
    /// The email's number in the sequence, counted from 1 (docs/api.md, "Step numbers").
    #[schema(minimum = 1)]
    step: u32,
    sent: u64,
    clicked: u64,
    recovered: u64,
}

impl From<&FunnelStep> for Step {
    fn from(step: &FunnelStep) -> Step {
        Step {
            step: step.step_index + 1,
            sent: step.sent,
            clicked: step.clicked,
            recovered: step.recovered,
        }
    }
}

/// An estimate with its 95 % interval (null when the data support none).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = IncrementalEstimate)]
pub(crate) struct Estimate {
    estimate: f64,
    #[schema(required = true)]
    low: Option<f64>,
    #[schema(required = true)]
    high: Option<f64>,
    /// `better`, `worse` or `inconclusive`.
    #[schema(value_type = String)]
    verdict: Verdict,
}

impl From<Lift> for Estimate {
    fn from(lift: Lift) -> Estimate {
        Estimate {
            estimate: lift.estimate,
            low: lift.interval.map(|i| i.low),
            high: lift.interval.map(|i| i.high),
            verdict: lift.verdict,
        }
    }
}

/// Incremental revenue in one currency, minor units.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = IncrementalRevenue)]
pub(crate) struct IncrementalRevenue {
    currency: String,
    #[schema(required = true)]
    revenue_minor: Option<Estimate>,
}

/// What the emails added beyond what would have come back anyway, measured
/// against the latest holdout (docs/experiments.md). Over that experiment's
/// carts since it started, not over the report's period.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = IncrementalFigures)]
pub(crate) struct Incremental {
    experiment_id: String,
    /// `running` or `stopped`.
    status: String,
    held_out_carts: u64,
    emailed_carts: u64,
    /// Recovered carts the emails added among the emailed carts; null while a
    /// group has no carts.
    #[schema(required = true)]
    recovered_carts: Option<Estimate>,
    revenue: Vec<IncrementalRevenue>,
}

/// The emailed groups together against the holdout.
fn incremental(experiment: &ExperimentRow, tallies: &BTreeMap<String, GroupTally>) -> Incremental {
    let mut held_out = GroupTally::default();
    let mut emailed = GroupTally::default();
    for group in &experiment.groups {
        if let Some(tally) = tallies.get(&group.name) {
            if group.holdout {
                held_out.merge(tally);
            } else {
                emailed.merge(tally);
            }
        }
    }
    let comparison = compare(&held_out, &emailed);
    Incremental {
        experiment_id: experiment.id.clone(),
        status: experiment.status.as_str().to_owned(),
        held_out_carts: held_out.carts,
        emailed_carts: emailed.carts,
        recovered_carts: comparison
            .conversion
            .map(|c| Estimate::from(c.incremental_recovered_carts)),
        revenue: comparison
            .revenue
            .iter()
            .map(|r| IncrementalRevenue {
                currency: r.currency.code().to_owned(),
                revenue_minor: r.incremental_revenue_minor.map(Estimate::from),
            })
            .collect(),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct AnalyticsReport {
    success: bool,
    period: Period,
    summary: Summary,
    /// Beside the attributed figures, once a holdout experiment has run:
    /// what the emails added (null when the tenant never started one).
    #[schema(required = true)]
    incremental: Option<Incremental>,
    /// One row per local day, in order.
    daily: Vec<Day>,
    /// One row per step of the sequence.
    funnel: Vec<Step>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AnalyticsPeriod)]
pub(crate) struct Period {
    /// Included.
    #[schema(format = DateTime)]
    start: String,
    /// Excluded; now for a preset.
    #[schema(format = DateTime)]
    end: String,
    #[schema(format = Date)]
    start_date: String,
    #[schema(format = Date)]
    end_date: String,
    time_zone: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AnalyticsSummary)]
pub(crate) struct Summary {
    abandoned: u64,
    recovered: u64,
    converted: u64,
    /// `recovered / abandoned`, 4 decimals; may exceed 1.
    recovery_rate: f64,
    abandoned_value: Vec<Amount>,
    recovered_revenue: Vec<Amount>,
}

impl AnalyticsReport {
    fn of(
        period: &AnalyticsPeriod,
        report: &Analytics,
        incremental: Option<Incremental>,
    ) -> AnalyticsReport {
        let summary = &report.summary;
        AnalyticsReport {
            success: true,
            incremental,
            period: Period {
                start: instant(period.start()),
                end: instant(period.end()),
                start_date: period.first_day().format("%Y-%m-%d").to_string(),
                end_date: period.last_day().format("%Y-%m-%d").to_string(),
                time_zone: period.zone().name(),
            },
            summary: Summary {
                abandoned: summary.abandoned,
                recovered: summary.recovered,
                converted: summary.converted,
                recovery_rate: summary.recovery_rate,
                abandoned_value: amounts(&summary.abandoned_value),
                recovered_revenue: amounts(&summary.recovered_revenue),
            },
            daily: report.daily.iter().map(Day::from).collect(),
            funnel: report.funnel.iter().map(Step::from).collect(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CartCounts {
    success: bool,
    #[schema(value_type = u64)]
    abandoned: i64,
    #[schema(value_type = u64)]
    recovered: i64,
    /// The interval used, `[dateFrom, dateTo)`, defaults filled in.
    date_from: i64,
    date_to: i64,
}

/// `GET /api/v1/analytics`.
#[utoipa::path(
    get,
    path = "/api/v1/analytics",
    tag = "analytics",
    operation_id = "analytics",
    summary = "A period's summary, daily rows in the shop's time zone, and the funnel per step",
    params(crate::input::documented::AnalyticsQuery),
    responses(
        (status = 200, description = "The report", body = AnalyticsReport),
        (status = 404, description = "NOT_FOUND: the tenant was deleted meanwhile", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: a bad parameter, named in `details`", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn analytics(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let asked = period_request(&request)?;
    let tenant_id = caller.tenant.id.clone();
    let window = caller.tenant.recovery_policy()?.attribution_window();
    let (period, report, holdout) = state
        .db(move |conn| -> Result<_, ApiError> {
            // The current policy, not the one cached with the key: its time zone
            // decides the days.
            let now = Utc::now();
            let (period, report) =
                tenant_report(conn, &tenant_id, now, |zone| resolve(asked, now, zone))?
                    .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such tenant"))?;
            let holdout = match latest_holdout(conn, &tenant_id)? {
                Some(experiment) => {
                    let tallies = experiment_tallies(conn, &tenant_id, &experiment.id, window)?;
                    Some((experiment, tallies))
                }
                None => None,
            };
            Ok((period, report, holdout))
        })
        .await?;
    let incremental = holdout.map(|(experiment, tallies)| incremental(&experiment, &tallies));
    Ok(HttpResponse::Ok().json(AnalyticsReport::of(&period, &report, incremental)))
}

/// A unix-seconds parameter; anything but a whole number is named.
fn seconds(value: Option<&str>, name: &str, problems: &mut Problems) -> Option<i64> {
    let text = value?;
    match text.parse::<i64>() {
        Ok(seconds) => Some(seconds),
        Err(_) => {
            problems.add(name, "must be a unix timestamp in whole seconds");
            None
        }
    }
}

/// `GET /api/v1/stats/carts`.
#[utoipa::path(
    get,
    path = "/api/v1/stats/carts",
    tag = "analytics",
    operation_id = "cartCounts",
    summary = "Abandoned and recovered counts between two unix timestamps",
    params(request::CartCountsQuery),
    responses(
        (status = 200, description = "The counts and the interval used", body = CartCounts),
        (status = 422, description = "VALIDATION_ERROR: a bad parameter, named in `details`", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn cart_counts(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Problems::default();
    let params = parameters(&request, &["date_from", "date_to"], &mut problems);
    let date_from = seconds(get(&params, "date_from"), "date_from", &mut problems);
    let date_to = seconds(get(&params, "date_to"), "date_to", &mut problems);
    problems.check()?;
    let (from, to) = count_interval(date_from, date_to, Utc::now())
        .map_err(|e| ApiError::validation(vec![field_error(e, "date_to")]))?;
    let tenant_id = caller.tenant.id.clone();
    let (abandoned, recovered) = state
        .db(move |conn| count_abandoned_recovered(conn, &tenant_id, from, to))
        .await?;
    Ok(HttpResponse::Ok().json(CartCounts {
        success: true,
        abandoned,
        recovered,
        date_from: from.timestamp(),
        date_to: to.timestamp(),
    }))
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
    use utoipa::IntoParams;

    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct CartCountsQuery {
        /// Unix seconds (years 1970 to 9999); default 30 days before now;
        /// required with `date_to`.
        #[param(minimum = 0, maximum = 253_402_300_799_i64)]
        pub date_from: Option<i64>,
        /// Unix seconds (years 1970 to 9999); default now; at most 30 days
        /// after `date_from`.
        #[param(minimum = 0, maximum = 253_402_300_799_i64)]
        pub date_to: Option<i64>,
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use actix_web::test::TestRequest;
    use serde_json::json;

    fn asked(query: &str) -> Result<PeriodRequest, Vec<FieldError>> {
        let request = TestRequest::get()
            .uri(&format!("/api/v1/analytics?{query}"))
            .to_http_request();
        period_request(&request).map_err(|e| {
            assert_eq!(e.code, ErrorCode::ValidationError);
            e.details
        })
    }

    fn fields(query: &str) -> Vec<String> {
        asked(query)
            .unwrap_err()
            .into_iter()
            .map(|f| f.field)
            .collect()
    }

    fn date(text: &str) -> NaiveDate {
        exact_date(text).unwrap()
    }

    #[test]
    fn period_parameters() {
        assert_eq!(
            asked(""),
            Ok(PeriodRequest::Preset(PeriodPreset::Last30Days))
        );
        for preset in PeriodPreset::ALL {
            let query = format!("period={}", preset.as_str());
            assert_eq!(asked(&query), Ok(PeriodRequest::Preset(preset)));
        }
        assert_eq!(
            asked("period=90d&utm=x"),
            Ok(PeriodRequest::Preset(PeriodPreset::Last90Days))
        );
        assert_eq!(
            asked("startDate=2026-03-01&endDate=2026-03-31"),
            Ok(PeriodRequest::Dates(date("2026-03-01"), date("2026-03-31")))
        );
        assert_eq!(fields("period=14d"), ["period"]);
        assert_eq!(fields("period=week"), ["period"]);
        assert_eq!(fields("period="), ["period"]);
        assert_eq!(fields("period=7d&startDate=2026-03-01"), ["period"]);
        assert_eq!(fields("period=7d&period=30d"), ["period"]);
        assert_eq!(fields("startDate=2026-03-01"), ["endDate"]);
        assert_eq!(fields("endDate=2026-03-01"), ["startDate"]);
        assert_eq!(
            fields("startDate=2026-3-1&endDate=2026-03-40"),
            ["startDate", "endDate"]
        );
        assert_eq!(
            fields("startDate=2026-02-30&endDate=2026-03-01"),
            ["startDate"]
        );
        assert_eq!(
            fields("startDate=2026-03-01T00:00:00Z&endDate=2026-03-02"),
            ["startDate"]
        );
    }

    #[test]
    fn dates_resolve_in_the_zone() {
        let zone = cartback_domain::Tz::Europe__Amsterdam;
        let now = Utc::now();
        let period = resolve(
            PeriodRequest::Dates(date("2026-03-29"), date("2026-03-29")),
            now,
            zone,
        )
        .unwrap();
        assert_eq!(instant(period.start()), "2026-03-28T23:00:00.000Z");
        assert_eq!(instant(period.end()), "2026-03-29T22:00:00.000Z");
        let error = resolve(
            PeriodRequest::Dates(date("2026-03-29"), date("2026-03-28")),
            now,
            zone,
        )
        .unwrap_err();
        assert_eq!(error.details[0].field, "endDate");
        let error = resolve(
            PeriodRequest::Dates(date("2025-01-01"), date("2026-01-02")),
            now,
            zone,
        )
        .unwrap_err();
        assert_eq!(error.details[0].field, "endDate");
    }

    #[test]
    fn amounts_carry_their_currency() {
        let list = [Money::from_minor(1234, cartback_domain::Currency::EUR)];
        let value = serde_json::to_value(amounts(&list)).unwrap();
        assert_eq!(
            value,
            json!([{"currency": "EUR", "amountMinor": 1234, "amount": "12.34"}])
        );
    }
}
