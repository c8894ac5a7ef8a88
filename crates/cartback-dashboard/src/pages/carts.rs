//! `/dashboard/carts`: every cart of the shop, newest first, with the filters
//! of `GET /api/v1/carts` (status, dates, language, the shopper's address) in
//! the URL, so a filtered list can be bookmarked and shared. Pages are keyset
//! pages (`after` / `before` a cart), read through the carts' indexes without
//! counting the whole list.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDate, NaiveDateTime};
use maud::{Markup, html};
use serde::Deserialize;

use cartback_domain::{Tz, local_day_span, parse_locale};
use cartback_store::cart_admin::{
    CartCursor, CartFilter, CartPage, CartPageFrom, StatusFilter, just_before, list_carts_keyset,
};

use crate::Dashboard;
use crate::error::PageError;
use crate::format;
use crate::pages::section_page;
use crate::session::signed_in;
use crate::widgets;

/// Carts per page.
pub const PAGE_SIZE: i64 = 25;

/// The status filter's choices: (value, label).
const STATUSES: &[(&str, &str)] = &[
    ("", "All"),
    ("abandoned", "Abandoned"),
    // `pending` as the API defines it: a recovery email still to come.
    ("pending", "Awaiting email"),
    ("recovered", "Recovered"),
    ("converted", "Converted"),
    ("active", "Active"),
    ("expired", "Expired"),
];

/// The query string of the page, as typed (so the form shows it back).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct CartsQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    locale: String,
    after: Option<String>,
    before: Option<String>,
    /// Set after an erasure, to say it was done.
    erased: Option<String>,
}

/// A filter field the shop typed wrongly: its name and why.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem {
    field: &'static str,
    message: String,
}

fn day(text: &str, field: &'static str) -> Result<Option<NaiveDate>, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| Problem {
        field,
        message: "must be a date (YYYY-MM-DD)".to_owned(),
    })?;
    cartback_domain::bounds::check_date(date).map_err(|message| Problem { field, message })?;
    Ok(Some(date))
}

/// The store's filter for the query: dates are whole days of the shop's zone
/// (`from` and `to` both included).
fn filter(query: &CartsQuery, zone: Tz) -> Result<CartFilter, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut filter = CartFilter::default();
    match StatusFilter::parse(&query.status) {
        Ok(status) => filter.status = status,
        Err(invalid) => problems.push(Problem {
            field: "status",
            message: invalid.to_string(),
        }),
    }
    let email = query.email.trim();
    if email.chars().count() > 320 {
        problems.push(Problem {
            field: "email",
            message: "must be at most 320 characters".to_owned(),
        });
    } else if !email.is_empty() {
        filter.email = Some(email.to_owned());
    }
    let locale = query.locale.trim();
    if !locale.is_empty() {
        match parse_locale(locale) {
            Ok(locale) => filter.locale = Some(locale),
            Err(error) => problems.push(Problem {
                field: "locale",
                message: error.to_string(),
            }),
        }
    }
    let from = day(&query.from, "from")
        .map_err(|p| problems.push(p))
        .ok()
        .flatten();
    let to = day(&query.to, "to")
        .map_err(|p| problems.push(p))
        .ok()
        .flatten();
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        problems.push(Problem {
            field: "to",
            message: "must not be before the first day".to_owned(),
        });
    }
    // Whole days of the shop's zone, as the API reads a date.
    filter.created_after = from.map(|d| just_before(local_day_span(d, zone).0));
    filter.created_before = to.map(|d| local_day_span(d, zone).1.naive_utc());
    if problems.is_empty() {
        Ok(filter)
    } else {
        Err(problems)
    }
}

fn from_cursor(query: &CartsQuery) -> CartPageFrom {
    let parse = |text: &Option<String>| text.as_deref().and_then(CartCursor::from_token);
    if let Some(cursor) = parse(&query.after) {
        CartPageFrom::After(cursor)
    } else if let Some(cursor) = parse(&query.before) {
        CartPageFrom::Before(cursor)
    } else {
        CartPageFrom::Start
    }
}

/// The query string of the current filters plus `extra`, for links.
fn link(query: &CartsQuery, status: Option<&str>, extra: Option<(&str, String)>) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    let status = status.unwrap_or(query.status.as_str());
    for (name, value) in [
        ("status", status),
        ("email", query.email.as_str()),
        ("from", query.from.as_str()),
        ("to", query.to.as_str()),
        ("locale", query.locale.as_str()),
    ] {
        let value = value.trim();
        if !value.is_empty() {
            pairs.push((name, value.to_owned()));
        }
    }
    if let Some(extra) = extra {
        pairs.push(extra);
    }
    if pairs.is_empty() {
        return "/dashboard/carts".to_owned();
    }
    let query: Vec<String> = pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", format::query_escape(value)))
        .collect();
    format!("/dashboard/carts?{}", query.join("&"))
}

/// `GET /dashboard/carts`.
pub async fn page(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    query: web::Query<CartsQuery>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let query = query.into_inner();
    let zone = signed.tenant.recovery_policy()?.zone();
    let (status, body) = match filter(&query, zone) {
        Ok(filter) => {
            let tenant_id = signed.tenant.id.clone();
            let from = from_cursor(&query);
            let page = dashboard
                .db(move |conn| list_carts_keyset(conn, &tenant_id, &filter, &from, PAGE_SIZE))
                .await?;
            (StatusCode::OK, render(&query, &[], Some(&page), zone))
        }
        Err(problems) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            render(&query, &problems, None, zone),
        ),
    };
    Ok(section_page(status, &signed, "Carts", "carts", body))
}

fn problem_of<'a>(problems: &'a [Problem], field: &str) -> Option<&'a Problem> {
    problems.iter().find(|p| p.field == field)
}

/// A text-like filter field with its label, hint and error.
fn field(
    problems: &[Problem],
    name: &'static str,
    label: &str,
    kind: &str,
    value: &str,
    hint: Option<&str>,
) -> Markup {
    let id = format!("filter-{name}");
    let error = problem_of(problems, name);
    let described = match (hint, error) {
        (_, Some(_)) => Some(format!("{id}-error")),
        (Some(_), None) => Some(format!("{id}-hint")),
        (None, None) => None,
    };
    html! {
        div.field.filter-field.invalid[error.is_some()] {
            label for=(id) { (label) }
            input id=(id) type=(kind) name=(name) value=(value)
                aria-invalid=[error.map(|_| "true")] aria-describedby=[described.as_deref()];
            @if let Some(error) = error {
                p.field-error id={ (id) "-error" } { (error.message) }
            } @else if let Some(hint) = hint {
                p.hint id={ (id) "-hint" } { (hint) }
            }
        }
    }
}

fn render(query: &CartsQuery, problems: &[Problem], page: Option<&CartPage>, zone: Tz) -> Markup {
    let filtered = [&query.email, &query.from, &query.to, &query.locale]
        .iter()
        .any(|v| !v.trim().is_empty());
    html! {
        div.page-header {
            div {
                h1 { "Carts" }
                p.muted { "Every cart your shop reported, newest first. Times in " (zone.name()) "." }
            }
        }
        @if query.erased.is_some() {
            p.alert.success role="status" #erased-notice { "The cart was erased: its shopper's personal data is gone for good." }
        }
        nav.segmented.status-tabs aria-label="Cart status" {
            @for (value, label) in STATUSES {
                @if query.status.trim() == *value {
                    a.segment.current href=(link(query, Some(value), None)) aria-current="true" { (label) }
                } @else {
                    a.segment href=(link(query, Some(value), None)) { (label) }
                }
            }
        }
        form.card.filters method="get" action="/dashboard/carts" aria-label="Filter carts" {
            input type="hidden" name="status" value=(query.status.trim());
            div.filter-grid {
                (field(problems, "email", "Customer email", "search", &query.email, Some("The full address; case does not matter.")))
                (field(problems, "from", "Created from", "date", &query.from, None))
                (field(problems, "to", "Created until", "date", &query.to, None))
                (field(problems, "locale", "Language", "text", &query.locale, Some("Like en or nl-NL.")))
            }
            @if let Some(problem) = problem_of(problems, "status") {
                p.field-error { "Status " (problem.message) "." }
            }
            div.filter-actions {
                button.button.primary type="submit" { "Search" }
                @if filtered {
                    a.button href=(link(&CartsQuery { status: query.status.clone(), ..CartsQuery::default() }, None, None)) { "Clear filters" }
                }
            }
        }
        @if let Some(page) = page {
            (table(query, page, zone))
        }
    }
}

fn table(query: &CartsQuery, page: &CartPage, zone: Tz) -> Markup {
    html! {
        section.card.flush aria-labelledby="carts-title" {
            h2 #carts-title.visually-hidden { "Carts" }
            @if page.carts.is_empty() {
                div.empty {
                    p { strong { "No carts match." } }
                    p.muted { "Carts appear here as your shop reports them through " code { "POST /api/v1/track" } "." }
                }
            } @else {
                table.records.carts-table {
                    thead {
                        tr {
                            th scope="col" { "Customer" }
                            th scope="col" { "Status" }
                            th.num scope="col" { "Items" }
                            th.num scope="col" { "Total" }
                            th.num scope="col" { "Emails" }
                            th scope="col" { "Created" }
                            th scope="col" { "Last activity" }
                        }
                    }
                    tbody {
                        @for cart in &page.carts {
                            tr {
                                td data-label="Customer" {
                                    a.record-link href={ "/dashboard/carts/" (cart.id) } { (widgets::shopper(cart)) }
                                    @if let Some(name) = cart.customer_name.as_deref().filter(|_| cart.erased_at.is_none()) {
                                        span.muted.small.block { (name) }
                                    }
                                }
                                td data-label="Status" { (widgets::status_badge(cart.status)) }
                                td.num data-label="Items" { (cart.item_count) }
                                td.num data-label="Total" { (widgets::money(cart.total_minor, &cart.currency)) }
                                td.num data-label="Emails" { (cart.next_step) }
                                td data-label="Created" { (local(cart.created_at, zone)) }
                                td data-label="Last activity" { (local(cart.last_activity_at, zone)) }
                            }
                        }
                    }
                }
            }
            @if page.has_newer || page.has_older {
                nav.pager aria-label="Pages" {
                    @if page.has_newer {
                        a.button.small href=(link(query, None, None)) { "Newest" }
                        @if let Some(first) = page.carts.first() {
                            a.button.small rel="prev" href=(link(query, None, Some(("before", CartCursor::of(first).to_token())))) { "← Newer" }
                        }
                    }
                    @if page.has_older {
                        @if let Some(last) = page.carts.last() {
                            a.button.small rel="next" href=(link(query, None, Some(("after", CartCursor::of(last).to_token())))) { "Older →" }
                        }
                    }
                }
            }
        }
    }
}

fn local(at: NaiveDateTime, zone: Tz) -> String {
    format::local_time(at, zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> CartsQuery {
        let text: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", format::query_escape(v)))
            .collect();
        web::Query::<CartsQuery>::from_query(&text.join("&"))
            .map(web::Query::into_inner)
            .unwrap_or_default()
    }

    #[test]
    fn filters_name_the_field_that_is_wrong() {
        let fields = |q: CartsQuery| -> Vec<&'static str> {
            filter(&q, Tz::UTC)
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.field)
                .collect()
        };
        assert_eq!(fields(query(&[("status", "lost")])), ["status"]);
        assert_eq!(fields(query(&[("from", "2026-02-30")])), ["from"]);
        assert_eq!(
            fields(query(&[("from", "2026-03-02"), ("to", "2026-03-01")])),
            ["to"]
        );
        assert_eq!(fields(query(&[("locale", "not a tag!")])), ["locale"]);
        let long = "a".repeat(321);
        assert_eq!(fields(query(&[("email", long.as_str())])), ["email"]);
    }

    #[test]
    fn dates_are_whole_days_of_the_shops_zone() {
        let q = query(&[
            ("from", "2026-03-29"),
            ("to", "2026-03-29"),
            ("status", "pending"),
        ]);
        let Ok(filter) = filter(&q, Tz::Europe__Amsterdam) else {
            panic!("a valid filter");
        };
        assert_eq!(filter.status, Some(StatusFilter::Pending));
        let after = filter
            .created_after
            .map(|at| at + chrono::TimeDelta::nanoseconds(1));
        assert_eq!(
            after.map(|at| at.to_string()).as_deref(),
            Some("2026-03-28 23:00:00")
        );
        assert_eq!(
            filter.created_before.map(|at| at.to_string()).as_deref(),
            Some("2026-03-29 22:00:00")
        );
    }

    #[test]
    fn links_keep_the_filters_and_escape_them() {
        let q = query(&[("email", "a+b@example.com"), ("status", "abandoned")]);
        assert_eq!(
            link(&q, None, Some(("after", "1.000000000.cart_x".to_owned()))),
            "/dashboard/carts?status=abandoned&email=a%2Bb%40example.com&after=1.000000000.cart_x"
        );
        assert_eq!(
            link(&q, Some(""), None),
            "/dashboard/carts?email=a%2Bb%40example.com"
        );
    }
}
