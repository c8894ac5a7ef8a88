//! `/dashboard/carts/{id}`: one cart's customer, items and totals. (Its
//! timeline and actions come with the Carts section.)

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;

use cartback_domain::{Currency, Money};
use cartback_store::cart_admin::find_cart_by_any_id;

use crate::Dashboard;
use crate::error::PageError;
use crate::format;
use crate::layout::{self, Page};
use crate::pages::html;
use crate::session::signed_in;

/// `GET /dashboard/carts/{id}`: another shop's cart is a 404, like a missing one.
pub async fn page(
    dashboard: web::Data<Dashboard>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let signed = signed_in(&request, &dashboard).await?;
    let id = id.into_inner();
    if id.is_empty() || id.len() > 128 {
        return Err(PageError::NotFound);
    }
    let store = dashboard.store.clone();
    let tenant_id = signed.tenant.id.clone();
    let cart = web::block(move || find_cart_by_any_id(&mut *store.conn()?, &tenant_id, &id, false))
        .await??
        .ok_or(PageError::NotFound)?;
    let currency = Currency::parse(&cart.currency).ok();
    let money = |minor: i64| match currency {
        Some(currency) => format::money(&Money::from_minor(minor, currency)),
        None => format!("{minor} {}", cart.currency),
    };
    let items = &cart.items;
    let zone = signed.tenant.recovery_policy()?.zone();
    let body = html! {
        div.page-header {
            div {
                p.breadcrumb { a href="/dashboard/carts" { "Carts" } " / " }
                h1 { "Cart " code.id { (cart.id) } }
            }
            span class={ "badge status-" (cart.status.as_str()) } #cart-status { (cart.status.as_str()) }
        }
        div.grid-2 {
            section.card aria-labelledby="customer-title" {
                h2 #customer-title { "Customer" }
                dl.facts {
                    dt { "Email" }
                    dd {
                        @if cart.erased_at.is_some() { "Erased" }
                        @else { (cart.customer_email.as_deref().unwrap_or("—")) }
                    }
                    dt { "Name" }
                    dd { (cart.customer_name.as_deref().unwrap_or("—")) }
                    dt { "Session" }
                    dd { code { (cart.session_id) } }
                    dt { "Locale" }
                    dd { (cart.locale.as_deref().unwrap_or("—")) }
                }
            }
            section.card aria-labelledby="dates-title" {
                h2 #dates-title { "Activity" }
                dl.facts {
                    dt { "Created" } dd { (format::local_time(cart.created_at, zone)) }
                    dt { "Last activity" } dd { (format::local_time(cart.last_activity_at, zone)) }
                    dt { "Abandoned" } dd { @match cart.abandoned_at { Some(at) => (format::local_time(at, zone)), None => "—" } }
                    dt { "Ordered" } dd { @match cart.ordered_at { Some(at) => (format::local_time(at, zone)), None => "—" } }
                }
            }
        }
        section.card aria-labelledby="items-title" {
            h2 #items-title { "Items" }
            div.table-scroll {
                table {
                    thead { tr { th scope="col" { "Item" } th.num scope="col" { "Quantity" } th.num scope="col" { "Price" } th.num scope="col" { "Subtotal" } } }
                    tbody {
                        @for item in items {
                            tr {
                                td { (item.name) br; span.muted.small { (item.id) } }
                                td.num { (item.quantity) }
                                td.num { (money(item.unit_price_minor)) }
                                td.num { (money(item.unit_price_minor.saturating_mul(i64::from(item.quantity)))) }
                            }
                        }
                    }
                    tfoot { tr { th scope="row" colspan="3" { "Total" } td.num #cart-total { (money(cart.total_minor)) } } }
                }
            }
        }
    };
    let page = layout::page(
        Page {
            title: "Cart",
            section: "carts",
            signed: &signed,
            chart: false,
        },
        body,
    );
    Ok(html(StatusCode::OK, page))
}
