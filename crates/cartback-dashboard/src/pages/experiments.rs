//! `/dashboard/experiments`: the shop's holdouts and A/B tests; owners and
//! admins make a holdout, start and stop; everyone reads each experiment's
//! figures with the lift's 95 % interval drawn. The same store functions and
//! domain figures as `/api/v1/experiments`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use cartback_domain::{
    Currency, ExperimentDesign, ExperimentGroup, GroupReport, Interval, Money, TrafficSplit,
    Verdict, experiment_name, experiment_report,
};
use cartback_store::experiments::{
    ExperimentRefusal, ExperimentRow, ExperimentStatus, create_experiment, experiment_tallies,
    find_experiment, list_experiments, start_experiment, stop_experiment,
};

use crate::Dashboard;
use crate::error::PageError;
use crate::format;
use crate::layout::csrf_field;
use crate::pages::{CsrfOnly, checked_id, section_page, see_other};
use crate::session::{SignedIn, check_change, signed_in};

/// The lift the sample sizes plan for: two percentage points.
const DETECTABLE_LIFT: f64 = 0.02;

fn status_label(status: ExperimentStatus) -> &'static str {
    match status {
        ExperimentStatus::Draft => "Draft",
        ExperimentStatus::Running => "Running",
        ExperimentStatus::Stopped => "Stopped",
    }
}

fn refusal_text(refusal: ExperimentRefusal) -> PageError {
    match refusal {
        ExperimentRefusal::NotFound => PageError::NotFound,
        ExperimentRefusal::TooMany => {
            PageError::Conflict("This shop has as many experiments as it may have.".to_owned())
        }
        ExperimentRefusal::AnotherRunning(_) => PageError::Conflict(
            "Another experiment is running: stop it first. One experiment runs at a time."
                .to_owned(),
        ),
        ExperimentRefusal::WrongStatus(status) => {
            PageError::Conflict(format!("The experiment is {}.", status.as_str()))
        }
    }
}

/// `GET /dashboard/experiments`.
pub async fn page(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let rows = load_list(&dashboard, &signed).await?;
    Ok(section_page(
        StatusCode::OK,
        &signed,
        "Experiments",
        "experiments",
        render_list(&signed, &rows, None),
    ))
}

async fn load_list(
    dashboard: &Dashboard,
    signed: &SignedIn,
) -> Result<Vec<ExperimentRow>, PageError> {
    let store = dashboard.store.clone();
    let tenant_id = signed.tenant.id.clone();
    Ok(web::block(move || list_experiments(&mut *store.conn()?, &tenant_id)).await??)
}

#[derive(Debug, Deserialize)]
pub struct HoldoutForm {
    csrf: Option<String>,
    #[serde(default)]
    name: String,
    /// The held-out share in percent, up to two decimals.
    #[serde(default)]
    percent: String,
}

/// `10`, `12.5` → basis points; None outside 0.01 to 99.99 or with more
/// than two decimals.
fn basis_points(percent: &str) -> Option<u32> {
    let text = percent.trim().trim_end_matches('%').trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || whole.len() > 2 || fraction.len() > 2 {
        return None;
    }
    if !whole
        .bytes()
        .chain(fraction.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let fraction: u32 = format!("{fraction:0<2}").parse().ok()?;
    let points = whole * 100 + fraction;
    (1..10_000).contains(&points).then_some(points)
}

/// `POST /dashboard/experiments/holdout`: a draft holdout of the given share.
pub async fn create_holdout(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    form: web::Form<HoldoutForm>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    check_change(&request, &dashboard, &signed, form.csrf.as_deref())?;
    let HoldoutForm { name, percent, .. } = form.into_inner();
    let checked = experiment_name(&name)
        .map_err(|e| format!("Name {}.", e.message))
        .and_then(|_| {
            basis_points(&percent)
                .ok_or_else(|| "Held-out share must be a percentage from 0.01 to 99.99.".to_owned())
                .and_then(|points| {
                    let split = TrafficSplit::holdout(points).map_err(|e| e.message)?;
                    let groups = split
                        .groups()
                        .iter()
                        .map(|share| ExperimentGroup {
                            name: share.name.clone(),
                            basis_points: share.basis_points,
                            holdout: share.holdout,
                            variant: Default::default(),
                        })
                        .collect();
                    let policy = signed.tenant.recovery_policy().map_err(|e| e.to_string())?;
                    ExperimentDesign::new(groups, &policy).map_err(|e| e.to_string())
                })
        });
    let design = match checked {
        Ok(design) => design,
        Err(message) => {
            let rows = load_list(&dashboard, &signed).await?;
            let body = render_list(&signed, &rows, Some((&name, &percent, &message)));
            return Ok(section_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &signed,
                "Experiments",
                "experiments",
                body,
            ));
        }
    };
    let name = name.trim().to_owned();
    let store = dashboard.store.clone();
    let tenant_id = signed.tenant.id.clone();
    let row = web::block(move || {
        create_experiment(&mut *store.conn()?, &tenant_id, &name, &design, Utc::now())
    })
    .await??
    .map_err(refusal_text)?;
    tracing::info!(tenant = %signed.tenant.id, by = %signed.user.id, experiment = %row.id, "dashboard: holdout created");
    Ok(see_other(&format!("/dashboard/experiments/{}", row.id)))
}

/// `POST /dashboard/experiments/{id}/start` and `/stop`.
pub async fn start(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    change_status(&dashboard, &request, &id, form.csrf.as_deref(), true).await
}

pub async fn stop(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    id: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    change_status(&dashboard, &request, &id, form.csrf.as_deref(), false).await
}

async fn change_status(
    dashboard: &Dashboard,
    request: &HttpRequest,
    id: &str,
    csrf: Option<&str>,
    starting: bool,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(request, dashboard).await?;
    check_change(request, dashboard, &signed, csrf)?;
    let id = checked_id(id)?.to_owned();
    let store = dashboard.store.clone();
    let tenant_id = signed.tenant.id.clone();
    let row = web::block(move || {
        let conn = &mut *store.conn()?;
        if starting {
            start_experiment(conn, &tenant_id, &id, Utc::now())
        } else {
            stop_experiment(conn, &tenant_id, &id, Utc::now())
        }
    })
    .await??
    .map_err(refusal_text)?;
    tracing::info!(tenant = %signed.tenant.id, by = %signed.user.id, experiment = %row.id, status = row.status.as_str(), "dashboard: experiment status changed");
    Ok(see_other(&format!("/dashboard/experiments/{}", row.id)))
}

/// `GET /dashboard/experiments/{id}`: the groups' figures and the lift chart.
pub async fn detail(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let id = checked_id(&id)?.to_owned();
    let window = signed
        .tenant
        .recovery_policy()
        .map_err(|_| PageError::Internal)?
        .attribution_window();
    let store = dashboard.store.clone();
    let tenant_id = signed.tenant.id.clone();
    let found = web::block(move || {
        let conn = &mut *store.conn()?;
        let Some(row) = find_experiment(conn, &tenant_id, &id)? else {
            return Ok::<_, cartback_store::StoreError>(None);
        };
        let tallies = experiment_tallies(conn, &tenant_id, &row.id, window)?;
        Ok(Some((row, tallies)))
    })
    .await??;
    let (row, tallies) = found.ok_or(PageError::NotFound)?;
    let design = row.design().map_err(|_| PageError::Internal)?;
    let reports = experiment_report(&design, &tallies, DETECTABLE_LIFT);
    let body = render_detail(&signed, &row, &design, &reports);
    Ok(section_page(
        StatusCode::OK,
        &signed,
        &row.name,
        "experiments",
        body,
    ))
}

fn render_list(
    signed: &SignedIn,
    rows: &[ExperimentRow],
    problem: Option<(&str, &str, &str)>,
) -> Markup {
    let zone = signed
        .tenant
        .recovery_policy()
        .map(|p| p.zone())
        .unwrap_or_default();
    let may_change = signed.role.may_change_settings();
    let (typed_name, typed_percent, message) = problem.unwrap_or(("", "10", ""));
    html! {
        div.page-header {
            div {
                h1 { "Experiments" }
                p.muted { "Would these shoppers have bought anyway? Hold a share of abandoned carts back from every email, and compare." }
            }
        }
        @if may_change {
            section.card aria-labelledby="holdout-title" {
                h2 #holdout-title { "New holdout" }
                p.muted.small { "The held-out share gets no recovery email; everything else about their carts stays the same. Assignment is by shopper, so one person stays in one group." }
                form.inline-form method="post" action="/dashboard/experiments/holdout" novalidate {
                    (csrf_field(signed))
                    div.field.grow {
                        label for="holdout-name" { "Name" }
                        input #holdout-name type="text" name="name" required maxlength="100" value=(typed_name);
                    }
                    div.field.invalid[!message.is_empty()] {
                        label for="holdout-percent" { "Held out (%)" }
                        input #holdout-percent type="text" inputmode="decimal" name="percent" required value=(typed_percent)
                            aria-invalid=[(!message.is_empty()).then_some("true")]
                            aria-describedby=[(!message.is_empty()).then_some("holdout-error")];
                    }
                    button.button.primary type="submit" { "Create draft" }
                }
                @if !message.is_empty() {
                    p.field-error #holdout-error role="alert" { (message) }
                }
            }
        }
        section.card.flush aria-labelledby="experiments-title" {
            div.card-header.padded {
                h2 #experiments-title { "All experiments" span.count { (format::count(rows.len() as u64)) } }
            }
            @if rows.is_empty() {
                div.empty {
                    p { strong { "No experiment yet." } }
                    p.muted { "A 10 % holdout is a good first one: it shows what the recovery emails add beyond what would come back anyway." }
                }
            } @else {
                table.records.experiments-table {
                    thead {
                        tr {
                            th scope="col" { "Name" }
                            th scope="col" { "Kind" }
                            th scope="col" { "Groups" }
                            th scope="col" { "Status" }
                            th scope="col" { "Started" }
                        }
                    }
                    tbody {
                        @for row in rows {
                            tr {
                                td data-label="Name" { a href={ "/dashboard/experiments/" (row.id) } { (row.name) } }
                                td data-label="Kind" { @if row.kind.as_str() == "holdout" { "Holdout" } @else { "A/B test" } }
                                td data-label="Groups" { (shares(&row.groups)) }
                                td data-label="Status" { span class={ "badge experiment-" (row.status.as_str()) } { (status_label(row.status)) } }
                                td data-label="Started" { (row.started_at.map(|t| format::local_time(t, zone)).unwrap_or_else(|| "—".to_owned())) }
                            }
                        }
                    }
                }
            }
        }
        @if !may_change {
            p.muted.small { "Your role (viewer) can look but not change experiments." }
        }
    }
}

fn shares(groups: &[ExperimentGroup]) -> String {
    groups
        .iter()
        .map(|g| format!("{} {}", g.name, share(g.basis_points)))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn share(basis_points: u32) -> String {
    format::percent(f64::from(basis_points) / 10_000.0)
}

/// A signed number of percentage points from a fraction: `+3.1 pp`.
fn points(fraction: f64) -> String {
    format!("{:+.1} pp", fraction * 100.0)
}

fn interval_text(interval: Option<Interval>, show: impl Fn(f64) -> String) -> String {
    interval.map_or_else(
        || "no interval yet".to_owned(),
        |i| format!("{} to {}", show(i.low), show(i.high)),
    )
}

fn verdict_label(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Better => "Better",
        Verdict::Worse => "Worse",
        Verdict::Inconclusive => "Inconclusive",
    }
}

fn minor_money(minor: f64, currency: Currency) -> String {
    format::money(&Money::from_minor(minor.round() as i64, currency))
}

fn render_detail(
    signed: &SignedIn,
    row: &ExperimentRow,
    design: &ExperimentDesign,
    reports: &[GroupReport],
) -> Markup {
    let may_change = signed.role.may_change_settings();
    let control = design.control();
    let control_figures = reports.first().map(|r| &r.comparison.control);
    html! {
        div.page-header {
            div {
                p.breadcrumb { a href="/dashboard/experiments" { "Experiments" } " / " }
                h1 { (row.name) " " span class={ "badge experiment-" (row.status.as_str()) } { (status_label(row.status)) } }
                p.muted { "Every group is measured against " strong { (control.name) } (if control.holdout { ", which gets no email" } else { ", the reference" }) ". Read the verdict once the carts still needed reach zero; looking daily and stopping at the first clear result makes false winners likely." }
            }
            @if may_change {
                div.header-actions {
                    @match row.status {
                        ExperimentStatus::Draft => form.inline method="post" action={ "/dashboard/experiments/" (row.id) "/start" } {
                            (csrf_field(signed))
                            button.button.primary #start-experiment type="submit" { "Start" }
                        },
                        ExperimentStatus::Running => form.inline method="post" action={ "/dashboard/experiments/" (row.id) "/stop" } {
                            (csrf_field(signed))
                            button.button #stop-experiment type="submit" { "Stop" }
                        },
                        ExperimentStatus::Stopped => {},
                    }
                }
            }
        }
        section.card.flush aria-labelledby="groups-title" {
            div.card-header.padded { h2 #groups-title { "Groups" } }
            table.records.experiment-groups {
                thead {
                    tr {
                        th scope="col" { "Group" }
                        th scope="col" { "Share" }
                        th scope="col" { "Carts" }
                        th scope="col" { "Recovered" }
                        th scope="col" { "Conversion" }
                        th scope="col" { "Revenue per cart" }
                    }
                }
                tbody {
                    @if let Some(figures) = control_figures {
                        (group_row(control, figures))
                    }
                    @for (report, group) in reports.iter().filter_map(|r| Some((r, design.group(&r.group)?))) {
                        (group_row(group, &report.comparison.treatment))
                    }
                }
            }
        }
        section.card aria-labelledby="lift-title" {
            h2 #lift-title { "Lift in recovered carts, with its 95 % interval" }
            p.muted.small { "Each bar is the range the true difference in conversion (percentage points) most plausibly lies in. A bar crossing the zero line means no winner yet." }
            (lift_chart(reports))
            @for report in reports {
                (report_details(report))
            }
        }
    }
}

fn group_row(group: &ExperimentGroup, figures: &cartback_domain::GroupFigures) -> Markup {
    html! {
        tr {
            th scope="row" data-label="Group" { (group.name) @if group.holdout { " " span.badge { "no email" } } }
            td data-label="Share" { (share(group.basis_points)) }
            td data-label="Carts" { (format::count(figures.carts)) }
            td data-label="Recovered" { (format::count(figures.recovered)) }
            td data-label="Conversion" { (figures.conversion_rate.map(format::percent).unwrap_or_else(|| "—".to_owned())) }
            td data-label="Revenue per cart" {
                @if figures.revenue_per_cart_minor.is_empty() { "—" }
                @for (currency, minor) in &figures.revenue_per_cart_minor {
                    div { (minor_money(*minor, *currency)) }
                }
            }
        }
    }
}

fn report_details(report: &GroupReport) -> Markup {
    let conversion = report.comparison.conversion;
    html! {
        div.experiment-result data-group=(report.group) {
            h3 { (report.group) " against the control: " span class={ "verdict verdict-" (format!("{:?}", report.verdict).to_lowercase()) } { (verdict_label(report.verdict)) } }
            dl.facts {
                @if let Some(conversion) = conversion {
                    dt { "Absolute lift" }
                    dd { (points(conversion.absolute.estimate)) " (" (interval_text(conversion.absolute.interval, points)) ")" }
                    dt { "Relative lift" }
                    dd {
                        @match conversion.relative {
                            Some(relative) => { (format!("{:+.1} %", relative.estimate * 100.0)) " (" (interval_text(relative.interval, |v| format!("{:+.1} %", v * 100.0))) ")" },
                            None => "— (the control recovered no cart yet)",
                        }
                    }
                    dt { "Incremental recovered carts" }
                    dd { (format!("{:+.1}", conversion.incremental_recovered_carts.estimate)) " (" (interval_text(conversion.incremental_recovered_carts.interval, |v| format!("{v:+.1}"))) ")" }
                } @else {
                    dt { "Lift" }
                    dd { "— (a group has no carts yet)" }
                }
                @for revenue in &report.comparison.revenue {
                    @if let Some(incremental) = revenue.incremental_revenue_minor {
                        dt { "Incremental revenue (" (revenue.currency.code()) ")" }
                        dd { (minor_money(incremental.estimate, revenue.currency)) " (" (interval_text(incremental.interval, |v| minor_money(v, revenue.currency))) ")" }
                    }
                }
                dt { "Carts still needed" }
                dd {
                    @match report.still_needed {
                        Some(needed) => { (format::count(needed.treatment)) " in this group, " (format::count(needed.control)) " in the control, to detect ±2 percentage points" },
                        None => "— (the control needs carts first)",
                    }
                }
            }
        }
    }
}

/// The chart's geometry, in SVG user units.
const CHART_WIDTH: f64 = 640.0;
const LABEL_WIDTH: f64 = 120.0;
const ROW_HEIGHT: f64 = 36.0;
const AXIS_HEIGHT: f64 = 28.0;

/// An interval plot drawn from the figures: one row per group, a bar over
/// the lift's 95 % interval, a dot at the estimate, the zero line, and a
/// labelled axis in percentage points.
fn lift_chart(reports: &[GroupReport]) -> Markup {
    let rows: Vec<(&str, f64, Option<Interval>, Verdict)> = reports
        .iter()
        .filter_map(|r| {
            let lift = r.comparison.conversion?.absolute;
            Some((r.group.as_str(), lift.estimate, lift.interval, r.verdict))
        })
        .collect();
    if rows.is_empty() {
        return html! { p.muted #lift-chart-empty { "Nothing to draw until both sides have carts." } };
    }
    // The axis spans every interval and zero, with a margin, in whole points.
    let (mut low, mut high) = (0.0_f64, 0.0_f64);
    for (_, estimate, interval, _) in &rows {
        low = low.min(interval.map_or(*estimate, |i| i.low));
        high = high.max(interval.map_or(*estimate, |i| i.high));
    }
    let low = (low * 100.0 - 1.0).floor();
    let high = (high * 100.0 + 1.0).ceil();
    let plot = CHART_WIDTH - LABEL_WIDTH - 16.0;
    let x = |fraction: f64| LABEL_WIDTH + (fraction * 100.0 - low) / (high - low) * plot;
    let height = AXIS_HEIGHT + ROW_HEIGHT * rows.len() as f64;
    // The smallest round step that gives at most about six ticks.
    let step = [1.0, 2.0, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0]
        .into_iter()
        .find(|step| (high - low) / step <= 6.0)
        .unwrap_or(100.0);
    let ticks: Vec<f64> = (0..)
        .map(|i| (low / step).ceil() * step + f64::from(i) * step)
        .take_while(|t| *t <= high)
        .collect();
    let summary = rows
        .iter()
        .map(|(name, estimate, interval, _)| {
            format!(
                "{name}: {} ({})",
                points(*estimate),
                interval_text(*interval, points)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    html! {
        figure.interval-chart #lift-chart {
            svg viewBox={ "0 0 " (CHART_WIDTH) " " (height) } role="img" aria-label={ "Absolute lift per group with 95 % intervals: " (summary) } {
                @for tick in &ticks {
                    @let tx = x(tick / 100.0);
                    line.tick x1=(tx) x2=(tx) y1="0" y2=(height - AXIS_HEIGHT) {}
                    text.tick-label x=(tx) y=(height - 8.0) text-anchor="middle" { (if *tick == 0.0 { "0".to_owned() } else { format!("{tick:+.0}") }) }
                }
                line.zero x1=(x(0.0)) x2=(x(0.0)) y1="0" y2=(height - AXIS_HEIGHT) {}
                @for (i, (name, estimate, interval, verdict)) in rows.iter().enumerate() {
                    @let y = ROW_HEIGHT * i as f64 + ROW_HEIGHT / 2.0;
                    @let class = format!("interval verdict-{}", format!("{verdict:?}").to_lowercase());
                    g class=(class) data-group=(name) {
                        text.row-label x=(LABEL_WIDTH - 8.0) y=(y + 4.0) text-anchor="end" { (name) }
                        @if let Some(interval) = interval {
                            line.bar x1=(x(interval.low)) x2=(x(interval.high)) y1=(y) y2=(y) {}
                            line.whisker x1=(x(interval.low)) x2=(x(interval.low)) y1=(y - 6.0) y2=(y + 6.0) {}
                            line.whisker x1=(x(interval.high)) x2=(x(interval.high)) y1=(y - 6.0) y2=(y + 6.0) {}
                        }
                        circle.estimate cx=(x(*estimate)) cy=(y) r="5" {}
                    }
                }
            }
            figcaption.muted.small { "Percentage points of conversion, group minus control. Dot: estimate; bar: 95 % interval." }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_read_as_percent_with_two_decimals_at_most() {
        assert_eq!(basis_points("10"), Some(1000));
        assert_eq!(basis_points("12.5"), Some(1250));
        assert_eq!(basis_points(" 0.01 %"), Some(1));
        assert_eq!(basis_points("99.99"), Some(9999));
        assert_eq!(basis_points("5."), Some(500));
        for bad in ["", "0", "100", "1.234", "-5", "abc", "1e1", ".5"] {
            assert_eq!(basis_points(bad), None, "{bad}");
        }
    }
}
