//! `/dashboard/experiments`: the shop's holdouts and A/B tests; owners and
//! admins make a holdout or an A/B test (`ab_test`), start and stop it, and
//! promote a group into the policy (`promote`); everyone reads each
//! experiment's figures with the lift's 95 % interval drawn. The same store
//! functions and domain rules as `/api/v1/experiments`.

mod ab_test;
mod promote;

pub use ab_test::{new_test, submit_test};
pub use promote::{promote, promote_form};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use cartback_domain::{
    Currency, ExperimentDesign, ExperimentGroup, ExperimentKind, GroupReport, Interval, Money,
    TrafficSplit, Variant, Verdict, experiment_name, experiment_report,
};
use cartback_store::experiments::{
    ExperimentRefusal, ExperimentRow, ExperimentStatus, create_experiment, experiment_with_tallies,
    list_experiments, start_experiment, stop_experiment,
};

use crate::Dashboard;
use crate::error::PageError;
use crate::format;
use crate::layout::csrf_field;
use crate::pages::duration::Duration;
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
        ExperimentRefusal::SettingsChanged => PageError::Conflict(
            "The recovery settings changed while you were promoting: open the promotion page again to see the changes against them."
                .to_owned(),
        ),
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
    let found =
        web::block(move || experiment_with_tallies(&mut *store.conn()?, &tenant_id, &id, window))
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
                p.muted { "Would these shoppers have bought anyway? Hold a share of abandoned carts back from every email, and compare. Or test versions of the emails against each other." }
            }
            @if may_change {
                div.header-actions {
                    a.button.primary #new-ab-test href="/dashboard/experiments/new" { "New A/B test" }
                }
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
    let promotable = design.kind() == ExperimentKind::Ab
        && row.status != ExperimentStatus::Draft
        && row.winner.is_none();
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
        @if let Some(winner) = &row.winner {
            p.alert.success #promoted-notice role="status" { strong { (winner) } " was promoted: its emails are the shop's recovery policy now." }
        }
        section.card.flush aria-labelledby="groups-title" {
            div.card-header.padded { h2 #groups-title { "Groups" } }
            table.records.experiment-groups {
                thead {
                    tr {
                        th scope="col" { "Group" }
                        th scope="col" { "Gets" }
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
        @if promotable && may_change {
            section.card #promote aria-labelledby="promote-title" {
                h2 #promote-title { "Promote a group" }
                p.muted { "Promoting writes a group's emails into the recovery policy and stops the test. Only a group whose whole interval lies above zero is a winner; promoting any other is allowed, but the next page warns that it is a guess. Promoting " strong { (control.name) } " keeps the emails as they are." }
                div.button-row {
                    @for group in design.groups() {
                        a.button href={ "/dashboard/experiments/" (row.id) "/promote?group=" (crate::format::query_escape(&group.name)) } data-group=(group.name) {
                            "Promote " (group.name) "…"
                        }
                    }
                }
            }
        }
    }
}

fn group_row(group: &ExperimentGroup, figures: &cartback_domain::GroupFigures) -> Markup {
    html! {
        tr {
            th scope="row" data-label="Group" { (group.name) @if group.holdout { " " span.badge { "no email" } } }
            td data-label="Gets" {
                @if group.holdout { "No email" }
                @else if group.variant.is_empty() { "The shop's emails" }
                @else {
                    ul.plain-list.variant-summary {
                        @for line in variant_summary(&group.variant) { li { (line) } }
                    }
                }
            }
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

/// What a variant changes, a line per email: `Email 1: after 30 minutes,
/// no coupon, its own subject`.
fn variant_summary(variant: &Variant) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(sequence) = &variant.sequence {
        lines.push(format!(
            "Its own sequence of {}:",
            match sequence.steps.len() {
                1 => "1 email".to_owned(),
                n => format!("{n} emails"),
            }
        ));
        for (i, step) in sequence.steps.iter().enumerate() {
            let settings = sequence.step_settings.get(i).cloned().unwrap_or_default();
            let mut parts = vec![format!(
                "after {}",
                Duration::of_ms(step.delay_ms).describe()
            )];
            if let Some(template) = &settings.template {
                parts.push(ab_test::template_text(Some(template)));
            }
            if let Some(coupon) = &settings.coupon {
                parts.push(ab_test::coupon_text(Some(coupon)));
            }
            lines.push(format!("Email {}: {}", i + 1, parts.join(", ")));
        }
    }
    for change in &variant.steps {
        let mut parts = Vec::new();
        if let Some(ms) = change.delay_ms {
            parts.push(format!("after {}", Duration::of_ms(ms).describe()));
        }
        if let Some(template) = &change.template {
            parts.push(ab_test::template_text(Some(template)));
        }
        if change.no_coupon {
            parts.push("no coupon".to_owned());
        } else if let Some(coupon) = &change.coupon {
            parts.push(ab_test::coupon_text(Some(coupon)));
        }
        if let Some(copy) = &change.copy {
            match &copy.subject {
                Some(subject) => parts.push(format!("subject “{subject}”")),
                None => parts.push("its own words".to_owned()),
            }
        }
        lines.push(format!("Email {}: {}", change.step + 1, parts.join(", ")));
    }
    lines
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

/// The interval chart's layout, in SVG user units. Two are drawn and CSS
/// shows the one that fits: on a phone the wide one would shrink its text to
/// half size, so the narrow one puts each group's name above its bar and
/// uses the whole width for the scale.
#[derive(Debug, Clone, Copy)]
struct ChartLayout {
    class: &'static str,
    width: f64,
    /// Left of the plot: the group names when they sit beside the bars.
    label_width: f64,
    /// Above each bar: the group name when it sits over the bar.
    label_height: f64,
    row_height: f64,
    axis_height: f64,
}

const WIDE: ChartLayout = ChartLayout {
    class: "chart-wide",
    width: 640.0,
    label_width: 120.0,
    label_height: 0.0,
    row_height: 36.0,
    axis_height: 28.0,
};

/// Drawn about 310 px wide on a 375 px phone, so its 14-unit text (see
/// dashboard.css) stays near 14 px.
const NARROW: ChartLayout = ChartLayout {
    class: "chart-narrow",
    width: 320.0,
    label_width: 12.0,
    label_height: 20.0,
    row_height: 52.0,
    axis_height: 30.0,
};

/// One group's lift: name, estimate, interval, verdict.
type LiftRow<'a> = (&'a str, f64, Option<Interval>, Verdict);

/// An interval plot drawn from the figures: one row per group, a bar over
/// the lift's 95 % interval, a dot at the estimate, the zero line, and a
/// labelled axis in percentage points.
fn lift_chart(reports: &[GroupReport]) -> Markup {
    let rows: Vec<LiftRow<'_>> = reports
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
    let label = format!("Absolute lift per group with 95 % intervals: {summary}");
    html! {
        figure.interval-chart #lift-chart {
            (chart_svg(&rows, (low, high), WIDE, &label))
            (chart_svg(&rows, (low, high), NARROW, &label))
            figcaption.muted.small { "Percentage points of conversion, group minus control. Dot: estimate; bar: 95 % interval." }
        }
    }
}

fn chart_svg(
    rows: &[LiftRow<'_>],
    (low, high): (f64, f64),
    layout: ChartLayout,
    label: &str,
) -> Markup {
    let plot = layout.width - layout.label_width - 16.0;
    let x = |fraction: f64| layout.label_width + (fraction * 100.0 - low) / (high - low) * plot;
    let row_height = layout.row_height;
    let height = layout.axis_height + row_height * rows.len() as f64;
    // The smallest round step that leaves room for the tick labels: about
    // six on the wide chart, five on the narrow one.
    let most_ticks = if layout.label_height > 0.0 { 5.0 } else { 6.0 };
    let step = [1.0, 2.0, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0]
        .into_iter()
        .find(|step| (high - low) / step <= most_ticks)
        .unwrap_or(100.0);
    let ticks: Vec<f64> = (0..)
        .map(|i| (low / step).ceil() * step + f64::from(i) * step)
        .take_while(|t| *t <= high)
        .collect();
    html! {
        svg class=(layout.class) viewBox={ "0 0 " (layout.width) " " (height) } role="img" aria-label=(label) {
            g {
                @for tick in &ticks {
                    @let tx = x(tick / 100.0);
                    line.tick x1=(tx) x2=(tx) y1="0" y2=(height - layout.axis_height) {}
                    text.tick-label x=(tx) y=(height - 8.0) text-anchor="middle" { (if *tick == 0.0 { "0".to_owned() } else { format!("{tick:+.0}") }) }
                }
                line.zero x1=(x(0.0)) x2=(x(0.0)) y1="0" y2=(height - layout.axis_height) {}
                @for (i, (name, estimate, interval, verdict)) in rows.iter().enumerate() {
                    @let top = row_height * i as f64;
                    @let y = top + layout.label_height + (row_height - layout.label_height) / 2.0;
                    @let class = format!("interval verdict-{}", format!("{verdict:?}").to_lowercase());
                    g class=(class) data-group=(name) {
                        @if layout.label_height > 0.0 {
                            text.row-label x=(layout.label_width) y=(top + layout.label_height - 4.0) text-anchor="start" { (name) }
                        } @else {
                            text.row-label x=(layout.label_width - 8.0) y=(y + 4.0) text-anchor="end" { (name) }
                        }
                        @if let Some(interval) = interval {
                            line.bar x1=(x(interval.low)) x2=(x(interval.high)) y1=(y) y2=(y) {}
                            line.whisker x1=(x(interval.low)) x2=(x(interval.low)) y1=(y - 6.0) y2=(y + 6.0) {}
                            line.whisker x1=(x(interval.high)) x2=(x(interval.high)) y1=(y - 6.0) y2=(y + 6.0) {}
                        }
                        circle.estimate cx=(x(*estimate)) cy=(y) r="5" {}
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variant_reads_email_by_email() {
        use cartback_domain::{
            CouponRule, RecoveryStep, StepSettings, StepVariant, VariantCopy, VariantSequence,
        };
        let variant = Variant {
            sequence: Some(VariantSequence {
                steps: vec![
                    RecoveryStep::after(1_800_000),
                    RecoveryStep::after(86_400_000),
                ],
                step_settings: vec![
                    StepSettings::default(),
                    StepSettings {
                        template: Some("bold_banner".into()),
                        coupon: Some(CouponRule::Static {
                            code: "BACK10".into(),
                        }),
                    },
                ],
            }),
            steps: vec![StepVariant {
                step: 0,
                copy: Some(VariantCopy {
                    subject: Some("Still there?".into()),
                    ..VariantCopy::default()
                }),
                ..StepVariant::default()
            }],
        };
        assert_eq!(
            variant_summary(&variant),
            [
                "Its own sequence of 2 emails:",
                "Email 1: after 30 minutes",
                "Email 2: after 1 day, Bold banner, code BACK10",
                "Email 1: subject “Still there?”",
            ]
        );
    }

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
