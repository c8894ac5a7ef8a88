//! `/dashboard`: the period's figures, a daily chart, the funnel and the latest
//! carts. The figures are [`cartback_store::analytics::tenant_report`]'s, the
//! very report `GET /api/v1/analytics` answers for the same period.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDate, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;

use cartback_domain::{
    Analytics, AnalyticsPeriod, InvalidValue, Money, PeriodPreset, RecoveryPolicy, rate,
};
use cartback_store::StoreError;
use cartback_store::analytics::tenant_report;
use cartback_store::cart_admin::{CartFilter, CartPageFrom, list_carts_keyset};
use cartback_store::carts::CartRow;

use crate::Dashboard;
use crate::error::PageError;
use crate::format;
use crate::layout::{self, Page};
use crate::pages::html;
use crate::session::{SignedIn, signed_in};
use crate::widgets;

/// Carts in the "latest carts" list.
const LATEST: i64 = 8;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodQuery {
    period: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
}

/// What the visitor picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    /// `period=7d`, `period=month`, … as the API names them.
    Preset(PeriodPreset),
    Dates(NaiveDate, NaiveDate),
}

fn date(text: &str, field: &str) -> Result<NaiveDate, InvalidValue> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| InvalidValue::new("must be a date as YYYY-MM-DD").at(field))
}

fn choice(query: &PeriodQuery) -> Result<Choice, InvalidValue> {
    let start = query.start_date.as_deref().filter(|s| !s.is_empty());
    let end = query.end_date.as_deref().filter(|s| !s.is_empty());
    match (start, end) {
        (Some(start), Some(end)) => Ok(Choice::Dates(
            date(start, "startDate")?,
            date(end, "endDate")?,
        )),
        (Some(_), None) => Err(InvalidValue::new("is required with a start date").at("endDate")),
        (None, Some(_)) => Err(InvalidValue::new("is required with an end date").at("startDate")),
        (None, None) => match query.period.as_deref() {
            None | Some("") => Ok(Choice::Preset(PeriodPreset::DEFAULT)),
            Some(text) => PeriodPreset::parse(text).map(Choice::Preset),
        },
    }
}

enum Failure {
    Invalid(InvalidValue),
    Store(StoreError),
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Failure {
        Failure::Store(error)
    }
}

struct Loaded {
    period: AnalyticsPeriod,
    report: Analytics,
    policy: RecoveryPolicy,
    latest: Vec<CartRow>,
}

/// `GET /dashboard`.
pub async fn page(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let asked = choice(&query);
    let tenant_id = signed.tenant.id.clone();
    let loaded = dashboard
        .db(
            move |conn| -> Result<Result<Loaded, InvalidValue>, PageError> {
                let picked = match asked {
                    Ok(picked) => picked,
                    Err(invalid) => return Ok(Err(invalid)),
                };
                let now = Utc::now();
                let report = tenant_report(conn, &tenant_id, now, |zone| match picked {
                    Choice::Preset(preset) => preset.period(now, zone).map_err(Failure::Invalid),
                    Choice::Dates(first, last) => {
                        AnalyticsPeriod::local_days(first, last, zone).map_err(Failure::Invalid)
                    }
                });
                let (period, report) = match report {
                    Ok(Some(found)) => found,
                    Ok(None) => return Err(PageError::NotFound),
                    Err(Failure::Invalid(invalid)) => return Ok(Err(invalid)),
                    Err(Failure::Store(error)) => return Err(error.into()),
                };
                let tenant = cartback_store::tenants::find_tenant(conn, &tenant_id)?
                    .ok_or(PageError::NotFound)?;
                let policy = tenant.recovery_policy()?;
                // A keyset page: the newest carts without counting them all.
                let latest = list_carts_keyset(
                    conn,
                    &tenant_id,
                    &CartFilter::default(),
                    &CartPageFrom::Start,
                    LATEST,
                )?
                .carts;
                Ok(Ok(Loaded {
                    period,
                    report,
                    policy,
                    latest,
                }))
            },
        )
        .await?;
    let (status, body) = match loaded {
        Ok(loaded) => (StatusCode::OK, overview(&signed, &query, &loaded)),
        Err(invalid) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            html! {
                (header(&query, None, Some(&invalid)))
            },
        ),
    };
    let page = layout::page(
        Page {
            title: "Overview",
            section: "",
            signed: &signed,
            chart: true,
        },
        body,
    );
    Ok(html(status, page))
}

/// The title and the period picker.
fn header(
    query: &PeriodQuery,
    period: Option<&AnalyticsPeriod>,
    error: Option<&InvalidValue>,
) -> Markup {
    let preset = match (&query.start_date, &query.end_date, query.period.as_deref()) {
        (None, None, None | Some("")) => Some(PeriodPreset::DEFAULT.as_str()),
        (None, None, Some(text)) => Some(text),
        _ => None,
    };
    let custom = preset.is_none() || error.is_some();
    html! {
        div.page-header {
            div {
                h1 { "Overview" }
                @if let Some(period) = period {
                    p.muted #period-range {
                        (period.first_day().format("%-d %b %Y")) " – " (period.last_day().format("%-d %b %Y"))
                        " · " (period.zone().name())
                    }
                }
            }
            div.period-picker {
                nav.segmented aria-label="Period" {
                    @for choice in PeriodPreset::ALL {
                        @let value = choice.as_str();
                        @if preset == Some(value) {
                            a.segment.current href={ "/dashboard?period=" (value) } aria-current="true" { (choice.label()) }
                        } @else {
                            a.segment href={ "/dashboard?period=" (value) } { (choice.label()) }
                        }
                    }
                }
                details.custom-range open[custom] {
                    summary { "Custom dates" }
                    form.range-form method="get" action="/dashboard" {
                        div.field {
                            label for="startDate" { "From" }
                            input #startDate type="date" name="startDate"
                                value=[query.start_date.as_deref()] required;
                        }
                        div.field {
                            label for="endDate" { "To" }
                            input #endDate type="date" name="endDate"
                                value=[query.end_date.as_deref()] required;
                        }
                        button.button type="submit" { "Apply" }
                    }
                }
            }
        }
        @if let Some(error) = error {
            p.alert.error role="alert" {
                @match error.field.as_deref() {
                    Some("startDate") => "Start date ",
                    Some("endDate") => "End date ",
                    Some("period") => "Period ",
                    _ => "",
                }
                (error.message) "."
            }
        }
    }
}

/// Amounts, one per currency, never summed across them.
fn amounts(metric: &str, list: &[Money]) -> Markup {
    html! {
        @if list.is_empty() {
            p.tile-value data-metric=(metric) { "—" }
        } @else {
            ul.tile-value.amounts data-metric=(metric) {
                @for amount in list {
                    li data-currency=(amount.currency().code()) data-minor=(amount.minor()) {
                        (format::money(amount))
                    }
                }
            }
        }
    }
}

fn tile(label: &str, hint: &str, value: Markup) -> Markup {
    html! {
        div.tile {
            h2.tile-label { (label) }
            (value)
            p.tile-hint { (hint) }
        }
    }
}

fn figure(metric: &str, value: String) -> Markup {
    html! { p.tile-value data-metric=(metric) { (value) } }
}

fn step_label(policy: &RecoveryPolicy, step: u32) -> String {
    let delay = policy
        .steps
        .get(step as usize)
        .map(|s| s.delay_ms / 1000)
        .map(|seconds| match seconds {
            s if s.is_multiple_of(86_400) => format!("{} d", s / 86_400),
            s if s.is_multiple_of(3_600) => format!("{} h", s / 3_600),
            s if s.is_multiple_of(60) => format!("{} min", s / 60),
            s => format!("{s} s"),
        });
    match delay {
        Some(delay) => format!("Email {} · after {delay}", step + 1),
        None => format!("Email {}", step + 1),
    }
}

fn overview(signed: &SignedIn, query: &PeriodQuery, loaded: &Loaded) -> Markup {
    let summary = &loaded.report.summary;
    let sent: u64 = loaded.report.funnel.iter().map(|s| s.sent).sum();
    let clicked: u64 = loaded.report.funnel.iter().map(|s| s.clicked).sum();
    let zone = loaded.period.zone();
    let chart = json!({
        "days": loaded.report.daily.iter().map(|d| d.date.format("%Y-%m-%d").to_string()).collect::<Vec<_>>(),
        "abandoned": loaded.report.daily.iter().map(|d| d.abandoned).collect::<Vec<_>>(),
        "recovered": loaded.report.daily.iter().map(|d| d.recovered).collect::<Vec<_>>(),
    });
    html! {
        (header(query, Some(&loaded.period), None))
        section.tiles aria-label="Key figures" {
            (tile("Abandoned carts", "Carts left with items in the period", figure("abandoned", format::count(summary.abandoned))))
            (tile("Recoverable value", "Total of those carts", amounts("abandonedValue", &summary.abandoned_value)))
            (tile("Recovered carts", "Orders that came back after an email", figure("recovered", format::count(summary.recovered))))
            (tile("Recovered revenue", "Those orders' totals, per currency", amounts("recoveredRevenue", &summary.recovered_revenue)))
            (tile("Recovery rate", "Recovered ÷ abandoned", figure("recoveryRate", format::percent(summary.recovery_rate))))
            (tile("Emails sent", "Recovery emails in the period", figure("emailsSent", format::count(sent))))
            (tile("Click rate", "Emails whose link was followed", figure("clickRate", format::percent(rate(clicked, sent)))))
        }
        div.grid-2 {
            section.card aria-labelledby="chart-title" {
                div.card-header {
                    h2 #chart-title { "Abandoned vs recovered, per day" }
                    p.muted.small { "Days in " (zone.name()) }
                }
                div.chart.js-daily-chart data-chart=(chart.to_string()) role="img"
                    aria-label="Chart of abandoned and recovered carts per day; the same figures are in the table below." {}
                details.chart-table {
                    summary { "Show as a table" }
                    div.table-scroll {
                        table {
                            thead { tr { th scope="col" { "Day" } th.num scope="col" { "Abandoned" } th.num scope="col" { "Recovered" } } }
                            tbody {
                                @for day in &loaded.report.daily {
                                    tr {
                                        th scope="row" { (day.date.format("%a %-d %b")) }
                                        td.num { (format::count(day.abandoned)) }
                                        td.num { (format::count(day.recovered)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section.card aria-labelledby="funnel-title" {
                div.card-header {
                    h2 #funnel-title { "Funnel per email" }
                    p.muted.small { "Sent → clicked → recovered" }
                }
                @if loaded.report.funnel.is_empty() {
                    p.muted { "No recovery steps are configured." }
                } @else {
                    ol.funnel {
                        @for step in &loaded.report.funnel {
                            li.funnel-step data-step=(step.step_index + 1) {
                                h3.funnel-title { (step_label(&loaded.policy, step.step_index)) }
                                dl.funnel-figures {
                                    div { dt { "Sent" } dd data-metric="sent" { (format::count(step.sent)) } }
                                    div { dt { "Clicked" } dd data-metric="clicked" { (format::count(step.clicked)) span.rate { (format::percent(rate(step.clicked, step.sent))) } } }
                                    div { dt { "Recovered" } dd data-metric="recovered" { (format::count(step.recovered)) span.rate { (format::percent(rate(step.recovered, step.sent))) } } }
                                }
                                progress.funnel-bar value=(step.clicked) max=(step.sent.max(1)) aria-label={ "Clicked, email " (step.step_index + 1) } {}
                            }
                        }
                    }
                }
            }
        }
        section.card aria-labelledby="latest-title" {
            div.card-header {
                h2 #latest-title { "Latest carts" }
                a.small href="/dashboard/carts" { "All carts" }
            }
            @if loaded.latest.is_empty() {
                p.muted { "No carts yet. Send one through " code { "POST /api/v1/track" } " and it shows here." }
            } @else {
                div.table-scroll {
                    table.latest {
                        thead {
                            tr {
                                th scope="col" { "Customer" }
                                th scope="col" { "Status" }
                                th.num scope="col" { "Items" }
                                th.num scope="col" { "Total" }
                                th scope="col" { "Last activity" }
                            }
                        }
                        tbody {
                            @for cart in &loaded.latest {
                                tr {
                                    td {
                                        a href={ "/dashboard/carts/" (cart.id) } { (widgets::shopper(cart)) }
                                    }
                                    td { (widgets::status_badge(cart.status)) }
                                    td.num { (cart.item_count) }
                                    td.num { (widgets::money(cart.total_minor, &cart.currency)) }
                                    td { (format::local_time(cart.last_activity_at, zone)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        p.muted.small.footnote {
            "Signed in as " (signed.user.email) ". The figures are those of "
            code { "GET /api/v1/analytics" } " for the same period."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(period: Option<&str>, start: Option<&str>, end: Option<&str>) -> PeriodQuery {
        PeriodQuery {
            period: period.map(str::to_owned),
            start_date: start.map(str::to_owned),
            end_date: end.map(str::to_owned),
        }
    }

    #[test]
    fn periods_like_the_api() {
        assert_eq!(
            choice(&query(None, None, None)).ok(),
            Some(Choice::Preset(PeriodPreset::Last30Days))
        );
        for preset in PeriodPreset::ALL {
            assert_eq!(
                choice(&query(Some(preset.as_str()), None, None)).ok(),
                Some(Choice::Preset(preset))
            );
        }
        let field = |q: PeriodQuery| choice(&q).err().and_then(|e| e.field);
        assert_eq!(
            field(query(Some("14d"), None, None)).as_deref(),
            Some("period")
        );
        assert_eq!(
            field(query(None, Some("2026-03-01"), None)).as_deref(),
            Some("endDate")
        );
        assert_eq!(
            field(query(None, Some("2026-02-30"), Some("2026-03-01"))).as_deref(),
            Some("startDate")
        );
        let dates = choice(&query(None, Some("2026-03-01"), Some("2026-03-31"))).ok();
        assert!(matches!(dates, Some(Choice::Dates(_, _))));
    }
}
