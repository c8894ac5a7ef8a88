//! The merchant carts API in process, on SQLite and PostgreSQL.

use chrono::TimeDelta;
use serde_json::{Value, json};

use cartback_store::Backend;
use cartback_testing::app::{Tenant, cart_update, error_fields};
use cartback_testing::on_both_backends;

use crate::harness::{Call, InProcess};

struct Shop {
    api: InProcess,
    tenant: Tenant,
    other: Tenant,
}

fn shop(backend: Backend) -> Shop {
    let api = InProcess::start(backend);
    // Long delay: nothing is emailed while the test runs (no worker anyway).
    let tenant = api.tenant("Test shop", TimeDelta::hours(1));
    let other = api.tenant("Test shop", TimeDelta::hours(1));
    Shop { api, tenant, other }
}

impl Shop {
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.api.call(method, path, &self.tenant.secret, body)
    }

    fn track(&self, session: &str, email: Option<&str>, locale: Option<&str>) -> String {
        let mut body = cart_update(session, email);
        if let Some(locale) = locale {
            body["locale"] = json!(locale);
        }
        let (status, answer) = self.api.track(&self.tenant.secret, &body);
        assert_eq!(status, 200, "{answer}");
        answer["cartId"].as_str().unwrap().to_owned()
    }
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

fn filters_and_pages(backend: Backend) {
    let shop = shop(backend);
    let mut all = Vec::new();
    for i in 0..12 {
        let email = format!("shopper{}@example.com", i % 3);
        let locale = ["nl-NL", "de-DE", "nl"][i % 3];
        all.push(shop.track(&format!("session-{i:02}"), Some(&email), Some(locale)));
    }
    // Another tenant's cart never shows.
    shop.api.track(
        &shop.other.secret,
        &cart_update("theirs-1", Some("shopper0@example.com")),
    );

    let (status, page) = shop.call("GET", "/api/v1/carts", None);
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        (
            page["total"].clone(),
            page["perPage"].clone(),
            page["totalPages"].clone()
        ),
        (json!(12), json!(10), json!(2))
    );
    assert_eq!(page["data"].as_array().unwrap().len(), 10);

    // Pages of 5 cover every cart exactly once, newest first.
    let mut seen = Vec::new();
    for n in 1..=3 {
        let (status, page) = shop.call("GET", &format!("/api/v1/carts?per_page=5&page={n}"), None);
        assert_eq!(status, 200);
        assert_eq!(page["totalPages"], json!(3));
        seen.extend(ids(&page));
    }
    let mut expected = all.clone();
    expected.reverse();
    assert_eq!(seen, expected);
    let (_, past_the_end) = shop.call("GET", "/api/v1/carts?per_page=5&page=4", None);
    assert_eq!(past_the_end["data"], json!([]));
    assert_eq!(past_the_end["total"], json!(12));
    let (_, biggest) = shop.call("GET", "/api/v1/carts?per_page=250", None);
    assert_eq!(ids(&biggest).len(), 12);

    let count = |query: &str| -> i64 {
        let (status, page) = shop.call("GET", &format!("/api/v1/carts?{query}"), None);
        assert_eq!(status, 200, "{query}: {page}");
        page["total"].as_i64().unwrap()
    };
    assert_eq!(count("email=SHOPPER1@example.com"), 4);
    assert_eq!(count("locale=nl"), 8, "nl matches nl and nl-NL");
    assert_eq!(count("locale=nl-NL"), 4);
    assert_eq!(count("locale=de"), 4);
    assert_eq!(count("status=active"), 12);
    assert_eq!(count("status=all"), 12);
    let (status, _) = shop.call(
        "PATCH",
        &format!("/api/v1/carts/{}", all[0]),
        Some(&json!({"status": "abandoned"})),
    );
    assert_eq!(status, 200);
    let (status, _) = shop.call(
        "PATCH",
        &format!("/api/v1/carts/{}", all[1]),
        Some(&json!({"status": "converted"})),
    );
    assert_eq!(status, 200);
    assert_eq!(count("status=abandoned"), 1);
    assert_eq!(count("status=pending"), 1);
    assert_eq!(count("status=converted"), 1);
    assert_eq!(count("status=recovered"), 0);
    assert_eq!(count("status=active&email=shopper0@example.com"), 3);
    assert_eq!(count("created_after=2000-01-01"), 12);
    assert_eq!(count("created_before=2000-01-01T00:00:00Z"), 0);
    assert_eq!(count("updated_after=4102444800"), 0);
    assert_eq!(count("updated_before=4102444800"), 12);

    for (query, field) in [
        ("per_page=0", "per_page"),
        ("per_page=251", "per_page"),
        ("page=0", "page"),
        ("page=two", "page"),
        ("status=lost", "status"),
        ("created_after=yesterday", "created_after"),
        ("locale=not%20a%20locale!", "locale"),
        ("colour=red", "colour"),
    ] {
        let (status, answer) = shop.call("GET", &format!("/api/v1/carts?{query}"), None);
        assert_eq!(status, 422, "{query}: {answer}");
        assert_eq!(answer["error"]["code"], "VALIDATION_ERROR");
        assert_eq!(error_fields(&answer), vec![field.to_owned()], "{query}");
    }
}
on_both_backends!(filters_and_pages);

/// The tenant's time zone changed through the api, the rest of its settings kept.
fn set_time_zone(shop: &Shop, zone: &str) {
    let (status, body) = shop.call(
        "PATCH",
        "/api/v1/settings/recovery",
        Some(&json!({"policy": {"timeZone": zone}})),
    );
    assert_eq!(status, 200, "{body}");
}

/// "Which carts were abandoned today?" in a shop in Tokyo (+9): a date is a
/// day of the shop's zone, both ends of a range include it, an RFC 3339 time
/// keeps its own offset, and `pending` leaves out the carts no email can reach.
fn abandoned_today_in_the_shops_zone(backend: Backend) {
    use cartback_domain::{Tz, local_date};
    use cartback_store::carts::{CartRelease, claim_due_carts, release_cart};
    use chrono::{TimeDelta, TimeZone, Utc};

    let shop = shop(backend);
    set_time_zone(&shop, "Asia/Tokyo");
    let today = local_date(Utc::now(), Tz::Asia__Tokyo);
    let sessions = ["late", "midnight", "evening", "next-day", "never"];
    let mut carts = std::collections::BTreeMap::new();
    for session in sessions {
        // The midnight cart has no address: abandoned, but never emailed.
        let email = (session != "midnight").then_some("ann@example.com");
        carts.insert(shop.track(session, email, None), session);
    }
    let id_of = |session: &str| -> String {
        carts
            .iter()
            .find(|(_, s)| **s == session)
            .map(|(id, _)| id.clone())
            .unwrap()
    };
    // The worker abandons them at fixed moments: Tokyo 23:59:59 on the 5th,
    // midnight on the 6th, 23:59:59 on the 6th, midnight on the 7th.
    let mut conn = shop.api.store.conn().unwrap();
    let now = Utc::now();
    let claimed = claim_due_carts(
        &mut conn,
        "test-worker",
        now + TimeDelta::hours(2),
        now + TimeDelta::hours(3),
        50,
    )
    .unwrap();
    assert_eq!(claimed.len(), 5);
    let at = |d: u32, h: u32, m: u32, s: u32| Utc.with_ymd_and_hms(2026, 12, d, h, m, s).unwrap();
    for (session, when, status) in [
        ("late", at(5, 14, 59, 59), "abandoned"),
        ("midnight", at(5, 15, 0, 0), "abandoned"),
        ("evening", at(6, 14, 59, 59), "abandoned"),
        ("next-day", at(6, 15, 0, 0), "abandoned"),
        ("never", at(6, 12, 0, 0), "active"),
    ] {
        let status = cartback_domain::CartStatus::parse(status).unwrap();
        let held = release_cart(
            &mut conn,
            &shop.tenant.id,
            &id_of(session),
            "test-worker",
            when,
            |_| {
                Ok(CartRelease {
                    status,
                    next_step: 0,
                    next_action_at: None,
                    quarantine: None,
                })
            },
        )
        .unwrap();
        assert!(held, "{session}");
    }

    let found = |query: &str| -> Vec<&str> {
        let (status, page) = shop.call("GET", &format!("/api/v1/carts?{query}"), None);
        assert_eq!(status, 200, "{query}: {page}");
        let mut found: Vec<&str> = ids(&page).iter().map(|id| carts[id]).collect();
        found.sort_unstable();
        found
    };
    let the_6th = "abandoned_after=2026-12-06&abandoned_before=2026-12-06";
    assert_eq!(found(the_6th), ["evening", "midnight"]);
    assert_eq!(
        found("abandoned_after=2026-12-06"),
        ["evening", "midnight", "next-day"]
    );
    assert_eq!(
        found("abandoned_before=2026-12-06"),
        ["evening", "late", "midnight"]
    );
    // A time keeps its own offset, and its bound is exclusive.
    assert_eq!(
        found("abandoned_after=2026-12-06T00:00:00%2B09:00"),
        ["evening", "next-day"]
    );
    assert_eq!(found("abandoned_before=2026-12-05T15:00:00Z"), ["late"]);
    assert_eq!(
        found(&format!("{the_6th}&status=abandoned")),
        ["evening", "midnight"]
    );
    assert_eq!(
        found(&format!("{the_6th}&status=pending")),
        ["evening"],
        "pending: an email still to come, so not the cart without an address"
    );
    // Created today in Tokyo: every cart (they were tracked after `today`
    // began); created up to yesterday: none.
    assert_eq!(
        found(&format!("created_after={today}&created_before={today}")).len(),
        5
    );
    let yesterday = today.pred_opt().unwrap();
    assert!(found(&format!("created_before={yesterday}")).is_empty());

    // An unencoded `+` arrives as a space: the 422 says to send `%2B`.
    let (status, answer) = shop.call(
        "GET",
        "/api/v1/carts?abandoned_after=2026-12-06T00:00:00+09:00",
        None,
    );
    assert_eq!(status, 422, "{answer}");
    assert_eq!(error_fields(&answer), ["abandoned_after"]);
    let message = answer["error"]["details"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("%2B") && message.contains("2026-12-06T00:00:00%2B09:00"),
        "{message}"
    );
    let (status, answer) = shop.call("GET", "/api/v1/carts?abandoned_before=today", None);
    assert_eq!(status, 422, "{answer}");
    assert_eq!(error_fields(&answer), ["abandoned_before"]);

    // The same day in UTC starts nine hours later.
    set_time_zone(&shop, "UTC");
    assert_eq!(found(the_6th), ["evening", "next-day"]);
}
on_both_backends!(abandoned_today_in_the_shops_zone);

fn one_cart_from_every_side(backend: Backend) {
    let shop = shop(backend);
    let id = shop.track("sess-one", Some("Ann@Example.com"), Some("nl-NL"));
    for key in [id.as_str(), "sess-one"] {
        let (status, cart) = shop.call("GET", &format!("/api/v1/carts/{key}"), None);
        assert_eq!(status, 200, "{cart}");
        assert_eq!(cart["data"]["id"], json!(id));
        assert_eq!(cart["data"]["sessionId"], "sess-one");
        assert_eq!(cart["data"]["total"], "100.00");
        assert_eq!(cart["data"]["totalMinor"], 10000);
        assert_eq!(cart["data"]["items"][0]["priceMinor"], 10000);
    }

    // PATCH: address, typed attributes merged by name, a value-less entry removes.
    let (status, cart) = shop.call(
        "PATCH",
        &format!("/api/v1/carts/{id}"),
        Some(&json!({"customerEmail": "ann@new.example", "attributes": [
            {"name": "source", "stringValue": "app"}, {"name": "tier", "integerValue": 2},
            {"name": "vip", "booleanValue": true}, {"name": "delivery", "dateValue": "2026-12-24"},
            {"name": "seen", "datetimeValue": "2026-11-29T10:00:00+01:00"}]})),
    );
    assert_eq!(status, 200, "{cart}");
    assert_eq!(cart["data"]["customerEmail"], "ann@new.example");
    assert_eq!(cart["data"]["attributes"].as_array().unwrap().len(), 5);
    let (_, cart) = shop.call(
        "PATCH",
        &format!("/api/v1/carts/{id}"),
        Some(&json!({"attributes": [{"name": "vip"}, {"name": "tier", "integerValue": 3}]})),
    );
    let attributes = cart["data"]["attributes"].clone();
    assert_eq!(
        attributes,
        json!([
            {"name": "delivery", "dateValue": "2026-12-24"},
            {"name": "seen", "datetimeValue": "2026-11-29T09:00:00Z"},
            {"name": "source", "stringValue": "app"},
            {"name": "tier", "integerValue": 3},
        ])
    );
    let (status, answer) = shop.call(
        "PATCH",
        &format!("/api/v1/carts/{id}"),
        Some(&json!({"status": "lost", "customerEmail": "nope", "attributes": "x", "colour": 1})),
    );
    assert_eq!(status, 422);
    let mut fields = error_fields(&answer);
    fields.sort();
    assert_eq!(
        fields,
        vec!["attributes", "colour", "customerEmail", "status"]
    );
    let (status, answer) = shop.call(
        "PATCH",
        &format!("/api/v1/carts/{id}"),
        Some(&json!({"attributes": [{"name": "ok", "stringValue": "a"}, {"name": "bad", "integerValue": "3"}]})),
    );
    assert_eq!(
        (status, error_fields(&answer)),
        (422, vec!["attributes[1]".to_owned()])
    );

    // Items: add, replace by id, remove; the total follows.
    let (status, cart) = shop.call(
        "POST",
        &format!("/api/v1/carts/{id}/items"),
        Some(&json!({"id": "sku_2", "name": "Socks", "price": 4.50, "quantity": 2})),
    );
    assert_eq!(status, 200, "{cart}");
    assert_eq!(cart["data"]["totalMinor"], 10900);
    let (_, cart) = shop.call(
        "POST",
        &format!("/api/v1/carts/{id}/items"),
        Some(&json!({"id": "sku_2", "name": "Socks", "price": 4.50, "quantity": 1})),
    );
    assert_eq!(cart["data"]["totalMinor"], 10450);
    assert_eq!(cart["data"]["itemCount"], 2);
    let (status, items) = shop.call("GET", &format!("/api/v1/carts/{id}/items"), None);
    assert_eq!(status, 200);
    assert_eq!(items["data"].as_array().unwrap().len(), 2);
    let (status, answer) = shop.call(
        "POST",
        &format!("/api/v1/carts/{id}/items"),
        Some(&json!({"id": "sku_3", "name": "", "price": "x", "quantity": 0})),
    );
    assert_eq!(status, 422, "{answer}");
    let mut fields = error_fields(&answer);
    fields.sort();
    assert_eq!(fields, vec!["price", "quantity"]);
    let (status, cart) = shop.call("DELETE", &format!("/api/v1/carts/{id}/items/sku_1"), None);
    assert_eq!(status, 200);
    assert_eq!(cart["data"]["totalMinor"], 450);
    let (status, _) = shop.call("DELETE", &format!("/api/v1/carts/{id}/items/sku_1"), None);
    assert_eq!(status, 404);

    // A closed cart is not reopened by hand.
    let (status, _) = shop.call(
        "PATCH",
        &format!("/api/v1/carts/{id}"),
        Some(&json!({"status": "converted"})),
    );
    assert_eq!(status, 200);
    let (status, answer) = shop.call(
        "PATCH",
        &format!("/api/v1/carts/{id}"),
        Some(&json!({"status": "active"})),
    );
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (409, json!("CONFLICT"))
    );

    // The timeline shows the cart's life in order.
    let (status, timeline) = shop.call("GET", &format!("/api/v1/carts/{id}/timeline"), None);
    assert_eq!(status, 200, "{timeline}");
    assert_eq!(timeline["data"][0]["type"], "created");

    // Erase: personal data gone for good, totals kept.
    let (status, erased) = shop.call("POST", &format!("/api/v1/carts/{id}/erase"), None);
    assert_eq!(status, 200, "{erased}");
    let data = &erased["data"];
    assert_eq!(
        (
            data["customerEmail"].clone(),
            data["customerName"].clone(),
            data["sessionId"].clone()
        ),
        (Value::Null, Value::Null, Value::Null)
    );
    assert_eq!(data["attributes"], json!([]));
    assert_eq!(data["items"][0]["name"], "(erased)");
    assert_eq!(data["totalMinor"], 450);
    assert!(data["erasedAt"].is_string());
    assert_eq!(
        shop.call("GET", &format!("/api/v1/carts/{id}"), None).0,
        404
    );
    assert_eq!(shop.call("GET", "/api/v1/carts/sess-one", None).0, 404);
    let (_, list) = shop.call("GET", "/api/v1/carts?email=ann@new.example", None);
    assert_eq!(list["total"], json!(0));

    // Soft delete hides a cart and a repeat is a 404.
    let other = shop.track("sess-two", None, None);
    assert_eq!(
        shop.call("DELETE", &format!("/api/v1/carts/{other}"), None)
            .0,
        204
    );
    assert_eq!(
        shop.call("DELETE", &format!("/api/v1/carts/{other}"), None)
            .0,
        404
    );
    assert_eq!(
        shop.call("GET", &format!("/api/v1/carts/{other}"), None).0,
        404
    );
    let (_, list) = shop.call("GET", "/api/v1/carts", None);
    assert_eq!(list["total"], json!(0));
}
on_both_backends!(one_cart_from_every_side);

fn upsert_by_the_shops_own_id(backend: Backend) {
    let shop = shop(backend);
    let body = json!({
        "externalId": "cart_8f3k2m",
        "items": [{"id": "sweater", "name": "Wool sweater", "price": 89.95, "quantity": 1}],
        "total": 89.95, "currency": "EUR", "locale": "nl-NL",
        "customerEmail": "kim@example.com",
        "attributes": [{"name": "cart_source", "stringValue": "mobile_app"}],
    });
    let (status, created) = shop.call("PUT", "/api/v1/carts", Some(&body));
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["created"], json!(true));
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["data"]["externalId"], "cart_8f3k2m");
    assert_eq!(created["data"]["status"], "active");
    assert!(
        created["data"]["nextActionAt"].is_string(),
        "scheduled like a tracked cart"
    );
    let mut again = body.clone();
    again["total"] = json!(179.90);
    again["items"][0]["quantity"] = json!(2);
    again["attributes"] = json!([{"name": "coupon_shown", "booleanValue": false}]);
    let (status, updated) = shop.call("PUT", "/api/v1/carts", Some(&again));
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (updated["created"].clone(), updated["data"]["id"].clone()),
        (json!(false), json!(id))
    );
    assert_eq!(updated["data"]["totalMinor"], 17990);
    assert_eq!(updated["data"]["attributes"].as_array().unwrap().len(), 2);
    let (status, fetched) = shop.call("GET", "/api/v1/carts/cart_8f3k2m", None);
    assert_eq!((status, fetched["data"]["id"].clone()), (200, json!(id)));

    let (status, answer) = shop.call(
        "PUT",
        "/api/v1/carts",
        Some(&json!({"items": [], "total": 1, "currency": "EURO",
                     "attributes": [{"name": "n", "dateValue": "2026-02-30"}]})),
    );
    assert_eq!(status, 422, "{answer}");
    let mut fields = error_fields(&answer);
    fields.sort();
    assert!(fields.contains(&"externalId".to_owned()), "{fields:?}");
    assert!(fields.contains(&"currency".to_owned()), "{fields:?}");
    // A session that belongs to another shop cart is a conflict.
    shop.call("PUT", "/api/v1/carts", Some(&json!({"externalId": "a", "sessionId": "shared-session", "items": [], "total": 0, "currency": "EUR"})));
    let (status, answer) = shop.call("PUT", "/api/v1/carts", Some(&json!({"externalId": "b", "sessionId": "shared-session", "items": [], "total": 0, "currency": "EUR"})));
    assert_eq!(status, 409, "{answer}");
}
on_both_backends!(upsert_by_the_shops_own_id);

/// Another tenant's cart is a 404 for every verb; a publishable key is refused.
fn other_tenants_and_publishable_keys(backend: Backend) {
    let shop = shop(backend);
    let id = shop.track("mine", Some("me@example.com"), None);
    let routes: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", format!("/api/v1/carts/{id}"), None),
        ("GET", "/api/v1/carts/mine".to_owned(), None),
        (
            "PATCH",
            format!("/api/v1/carts/{id}"),
            Some(json!({"customerName": "X"})),
        ),
        ("DELETE", format!("/api/v1/carts/{id}"), None),
        ("POST", format!("/api/v1/carts/{id}/erase"), None),
        ("GET", format!("/api/v1/carts/{id}/items"), None),
        (
            "POST",
            format!("/api/v1/carts/{id}/items"),
            Some(json!({"id": "x", "name": "X", "price": 1, "quantity": 1})),
        ),
        ("DELETE", format!("/api/v1/carts/{id}/items/sku_1"), None),
        ("GET", format!("/api/v1/carts/{id}/timeline"), None),
        ("GET", format!("/api/v1/carts/{id}/history"), None),
    ];
    for (method, path, body) in &routes {
        let (status, answer) = shop
            .api
            .call(method, path, &shop.other.secret, body.as_ref());
        assert_eq!(status, 404, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "NOT_FOUND");
        let (status, _) = shop
            .api
            .call(method, path, &shop.tenant.publishable, body.as_ref());
        assert_eq!(status, 403, "{method} {path} with a publishable key");
    }
    for (method, path) in [("GET", "/api/v1/carts"), ("PUT", "/api/v1/carts")] {
        let (status, _) = shop
            .api
            .call(method, path, &shop.tenant.publishable, Some(&json!({})));
        assert_eq!(status, 403, "{method} {path}");
    }
    let (_, theirs) = shop
        .api
        .call("GET", "/api/v1/carts", &shop.other.secret, None);
    assert_eq!(theirs["total"], json!(0));
    // Still there, untouched, for its owner.
    let (status, cart) = shop.call("GET", &format!("/api/v1/carts/{id}"), None);
    assert_eq!(
        (status, cart["data"]["customerName"].clone()),
        (200, json!("Sam Shopper"))
    );
}
on_both_backends!(other_tenants_and_publishable_keys);

/// `POST /api/v1/customers/erase`: every cart and order of one address (any
/// case) erased in one go, the address still suppressed but only as a hash,
/// idempotent, validated, and confined to the caller's tenant.
fn erase_a_customer(backend: Backend) {
    let shop = shop(backend);
    let first = shop.track("sess-erin-1", Some("Erin.Erasable@Example.com"), None);
    let second = shop.track("sess-erin-2", Some("erin.erasable@example.com"), None);
    let bystander = shop.track("sess-bob", Some("bob@example.com"), None);
    let (status, body) = shop.api.track(
        &shop.tenant.secret,
        &json!({"event": "ORDER_COMPLETE", "sessionId": "sess-erin-1", "orderId": "INV-E1",
                "total": 1.0, "currency": "USD", "customerEmail": "erin.erasable@example.com"}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = shop.call(
        "POST",
        "/api/v1/suppressions",
        Some(&json!({"email": "erin.erasable@example.com", "reason": "unsubscribed"})),
    );
    assert_eq!(status, 201, "{body}");
    // The same address at another tenant is not this tenant's to erase.
    let (status, _) = shop.api.track(
        &shop.other.secret,
        &cart_update("sess-theirs", Some("erin.erasable@example.com")),
    );
    assert_eq!(status, 200);

    let (status, answer) = shop.call(
        "POST",
        "/api/v1/customers/erase",
        Some(&json!({"email": "ERIN.ERASABLE@example.com"})),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({"success": true, "data": {"carts": 2, "orders": 1, "deliveries": 0}})
    );
    for id in [&first, &second] {
        assert_eq!(
            shop.call("GET", &format!("/api/v1/carts/{id}"), None).0,
            404,
            "erased carts are hidden"
        );
    }
    let (_, list) = shop.call("GET", "/api/v1/carts?email=erin.erasable@example.com", None);
    assert_eq!(list["total"], json!(0));
    let (status, cart) = shop.call("GET", &format!("/api/v1/carts/{bystander}"), None);
    assert_eq!(
        (status, cart["data"]["customerEmail"].clone()),
        (200, json!("bob@example.com"))
    );
    // Suppressed still, but the list no longer shows the address.
    let (_, listed) = shop.call("GET", "/api/v1/suppressions", None);
    assert_eq!(listed["total"], json!(1), "{listed}");
    let entry = listed["suppressions"][0]["email"].as_str().unwrap();
    assert!(entry.starts_with("hmac-sha256:"), "{entry}");
    assert!(!listed.to_string().contains("erin"), "{listed}");
    let (_, theirs) = shop.api.call(
        "GET",
        "/api/v1/carts?email=erin.erasable@example.com",
        &shop.other.secret,
        None,
    );
    assert_eq!(theirs["total"], json!(1), "the other tenant's cart stays");

    // Again: nothing left, still a 200.
    let (status, again) = shop.call(
        "POST",
        "/api/v1/customers/erase",
        Some(&json!({"email": "erin.erasable@example.com"})),
    );
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again["data"],
        json!({"carts": 0, "orders": 0, "deliveries": 0})
    );

    // Bad input names `email`; publishable keys are refused.
    for body in [
        json!({"email": "not-an-address"}),
        json!({}),
        json!({"email": 7}),
    ] {
        let (status, answer) = shop.call("POST", "/api/v1/customers/erase", Some(&body));
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "VALIDATION_ERROR");
        assert_eq!(error_fields(&answer), vec!["email".to_owned()], "{answer}");
    }
    let (status, _) = shop.api.call(
        "POST",
        "/api/v1/customers/erase",
        &shop.tenant.publishable,
        Some(&json!({"email": "bob@example.com"})),
    );
    assert_eq!(status, 403);
}
on_both_backends!(erase_a_customer);

/// One request with extra headers: the status, the `ETag` and the body.
fn call_with(
    shop: &Shop,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Option<String>, Value) {
    let mut call = Call::new(method, path).header("X-API-Key", &shop.tenant.secret);
    for (name, value) in headers {
        call = call.header(name, value);
    }
    if let Some(body) = body {
        call = call.json(body);
    }
    let answer = shop.api.send(call);
    let etag = answer.header("etag").map(str::to_owned);
    (answer.status, etag, answer.json())
}

/// Runs `count` requests at once, each built by `request(i)`; their statuses.
fn in_parallel(count: usize, request: impl Fn(usize) -> u16 + Sync) -> Vec<u16> {
    let barrier = std::sync::Barrier::new(count);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .map(|i| {
                let (barrier, request) = (&barrier, &request);
                scope.spawn(move || {
                    barrier.wait();
                    request(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Parallel item adds, attribute PATCHes and removes: every change stays, a
/// removed line never comes back, totals agree with the lines.
fn parallel_edits_are_never_lost(backend: Backend) {
    let shop = shop(backend);
    let cart = shop.track("parallel-1", Some("par@example.com"), None);
    let path = format!("/api/v1/carts/{cart}");

    let statuses = in_parallel(20, |i| {
        let item =
            json!({"id": format!("p{i}"), "name": format!("Item {i}"), "price": 1, "quantity": 1});
        shop.call("POST", &format!("{path}/items"), Some(&item)).0
    });
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let (_, got) = shop.call("GET", &path, None);
    assert_eq!(got["data"]["items"].as_array().unwrap().len(), 21, "{got}");
    assert_eq!(got["data"]["totalMinor"], json!(10_000 + 20 * 100));

    let statuses = in_parallel(20, |i| {
        let body =
            json!({"attributes": [{"name": format!("k{i}"), "stringValue": format!("v{i}")}]});
        shop.call("PATCH", &path, Some(&body)).0
    });
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let (_, got) = shop.call("GET", &path, None);
    assert_eq!(
        got["data"]["attributes"].as_array().unwrap().len(),
        20,
        "{got}"
    );

    // Ten removes of the same line and ten of others, at once.
    let statuses = in_parallel(20, |i| {
        let item = if i < 10 {
            "p0".to_owned()
        } else {
            format!("p{i}")
        };
        shop.call("DELETE", &format!("{path}/items/{item}"), None).0
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        11,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 404),
        "{statuses:?}"
    );
    let (_, got) = shop.call("GET", &path, None);
    let lines: Vec<&str> = got["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(lines.len(), 10, "{got}");
    assert!(!lines.contains(&"p0"), "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|l| *l == "sku_1" || l[1..].parse::<u32>().unwrap() < 10)
    );
    assert_eq!(got["data"]["itemCount"], json!(10));
    assert_eq!(got["data"]["totalMinor"], json!(10_000 + 9 * 100));
}
on_both_backends!(parallel_edits_are_never_lost);

/// Parallel `PUT /api/v1/carts` of one shop id, each with another attribute:
/// the merge happens inside the upsert's transaction, so every one stays, and
/// exactly one answer says "created".
fn parallel_upserts_keep_every_attribute(backend: Backend) {
    let shop = shop(backend);
    let statuses = in_parallel(20, |i| {
        let body = json!({
            "externalId": "ext-parallel",
            "items": [],
            "attributes": [{"name": format!("k{i}"), "integerValue": i}],
        });
        shop.call("PUT", "/api/v1/carts", Some(&body)).0
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 201),
        "{statuses:?}"
    );
    let (status, got) = shop.call("GET", "/api/v1/carts/ext-parallel", None);
    assert_eq!(status, 200, "{got}");
    let mut names: Vec<&str> = got["data"]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    let mut expected: Vec<String> = (0..20).map(|i| format!("k{i}")).collect();
    expected.sort_unstable();
    assert_eq!(names, expected, "{got}");
    assert!(
        got["data"]["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["integerValue"]
                == json!(a["name"].as_str().unwrap()[1..].parse::<u32>().unwrap())),
        "{got}"
    );

    // An invalid change is refused whole: nothing of the request is written.
    let (status, answer) = shop.call(
        "PUT",
        "/api/v1/carts",
        Some(&json!({"externalId": "ext-parallel", "items": [], "customerName": "Ann",
                     "attributes": [{"name": "ok", "stringValue": "x"}, {"name": "bad name!", "stringValue": "y"}]})),
    );
    assert_eq!(status, 422, "{answer}");
    assert_eq!(
        answer["error"]["details"][0]["field"],
        json!("attributes[1]")
    );
    let (_, after) = shop.call("GET", "/api/v1/carts/ext-parallel", None);
    assert_eq!(after["data"]["attributes"], got["data"]["attributes"]);
    assert_eq!(after["data"]["customerName"], got["data"]["customerName"]);
    assert_eq!(after["data"]["version"], got["data"]["version"]);
}
on_both_backends!(parallel_upserts_keep_every_attribute);

/// Every date a query takes lies in the years 1970 to 9999: outside them it is
/// a 422 naming the parameter on both backends (never an overflow, a 500 from
/// PostgreSQL's timestamp range, or a text comparison gone wrong on SQLite),
/// and the edges themselves are accepted.
fn dates_outside_the_years_are_refused(backend: Backend) {
    let shop = shop(backend);
    shop.track("dates-1", Some("dates@example.com"), None);
    for (query, field) in [
        ("/api/v1/carts?created_after=253402300800", "created_after"),
        ("/api/v1/carts?created_before=-1", "created_before"),
        ("/api/v1/carts?updated_after=0001-01-01", "updated_after"),
        (
            "/api/v1/carts?updated_before=1969-12-31T23:59:59Z",
            "updated_before",
        ),
        (
            "/api/v1/carts?created_after=9223372036854775807",
            "created_after",
        ),
        (
            "/api/v1/analytics?startDate=0001-01-01&endDate=0001-01-02",
            "startDate",
        ),
        (
            "/api/v1/analytics?startDate=1969-12-31&endDate=1970-01-01",
            "startDate",
        ),
        ("/api/v1/stats/carts?date_from=253402300800", "date_from"),
        (
            "/api/v1/stats/carts?date_from=0&date_to=9223372036854775807",
            "date_to",
        ),
    ] {
        let (status, answer) = shop.call("GET", query, None);
        assert_eq!(status, 422, "{query}: {answer}");
        assert_eq!(answer["error"]["code"], "VALIDATION_ERROR", "{query}");
        assert_eq!(
            answer["error"]["details"][0]["field"],
            json!(field),
            "{query}: {answer}"
        );
    }
    for query in [
        "/api/v1/carts?created_after=0&created_before=253402300799",
        "/api/v1/carts?updated_after=1970-01-01&updated_before=9999-12-31T23:59:59Z",
        "/api/v1/analytics?startDate=9999-12-01&endDate=9999-12-31",
        "/api/v1/analytics?startDate=1970-01-02&endDate=1970-01-31",
    ] {
        let (status, answer) = shop.call("GET", query, None);
        assert_eq!(status, 200, "{query}: {answer}");
    }
    let (_, page) = shop.call(
        "GET",
        "/api/v1/carts?created_after=0&created_before=253402300799",
        None,
    );
    assert_eq!(page["total"], json!(1), "{page}");
}
on_both_backends!(dates_outside_the_years_are_refused);

/// `ETag` and `If-Match`: a stale tag is a 412 that changes nothing, a current
/// one succeeds and gives the next tag.
fn if_match_guards_changes(backend: Backend) {
    let shop = shop(backend);
    let cart = shop.track("etag-1", Some("etag@example.com"), None);
    let path = format!("/api/v1/carts/{cart}");
    let (status, etag, got) = call_with(&shop, "GET", &path, &[], None);
    assert_eq!(status, 200);
    let etag = etag.expect("an ETag");
    assert_eq!(etag, format!("\"{}\"", got["data"]["version"]), "{got}");

    // Someone else changes the cart: the tag read before is stale.
    let (status, _) = shop.call("PATCH", &path, Some(&json!({"customerName": "Ann"})));
    assert_eq!(status, 200);
    let (_, _, before) = call_with(&shop, "GET", &path, &[], None);
    let item = json!({"id": "x1", "name": "X", "price": 5, "quantity": 1});
    for (method, suffix, body) in [
        ("PATCH", "", Some(json!({"customerName": "Bob"}))),
        ("POST", "/items", Some(item.clone())),
        ("DELETE", "/items/sku_1", None),
        ("DELETE", "", None),
    ] {
        let (status, _, answer) = call_with(
            &shop,
            method,
            &format!("{path}{suffix}"),
            &[("If-Match", &etag)],
            body.as_ref(),
        );
        assert_eq!(status, 412, "{method} {suffix}: {answer}");
        assert_eq!(answer["success"], json!(false));
        assert_eq!(answer["error"]["code"], json!("PRECONDITION_FAILED"));
    }
    let (_, _, after) = call_with(&shop, "GET", &path, &[], None);
    assert_eq!(before, after, "a 412 changes nothing");
    // A tag that is no version of ours never matches.
    let (status, _, _) = call_with(
        &shop,
        "PATCH",
        &path,
        &[("If-Match", "\"abc\"")],
        Some(&json!({"customerName": "Bob"})),
    );
    assert_eq!(status, 412);

    // The current tag works, and the answer carries the next one.
    let (_, current, _) = call_with(&shop, "GET", &path, &[], None);
    let current = current.unwrap();
    let (status, next, answer) = call_with(
        &shop,
        "POST",
        &format!("{path}/items"),
        &[("If-Match", &current)],
        Some(&item),
    );
    assert_eq!(status, 200, "{answer}");
    let next = next.unwrap();
    assert_ne!(next, current);
    assert_eq!(next, format!("\"{}\"", answer["data"]["version"]));
    let (status, next2, answer) = call_with(
        &shop,
        "PATCH",
        &path,
        &[("If-Match", &next)],
        Some(&json!({"attributes": [{"name": "gift", "booleanValue": true}]})),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["customerName"], json!("Ann"));
    // `*` and no header: last writer wins.
    let (status, _, _) = call_with(
        &shop,
        "DELETE",
        &format!("{path}/items/x1"),
        &[("If-Match", "*")],
        None,
    );
    assert_eq!(status, 200);
    let (status, _, _) = call_with(
        &shop,
        "DELETE",
        &path,
        &[("If-Match", &next2.unwrap())],
        None,
    );
    assert_eq!(status, 412, "the item delete moved the version on");
    // A header that is no entity tag at all is refused as such, not as stale.
    let (status, answer, _) = call_with(&shop, "DELETE", &path, &[("If-Match", "[\t9")], None);
    assert_eq!(status, 400, "{answer:?}");
    let (_, fresh, _) = call_with(&shop, "GET", &path, &[], None);
    let (status, _, _) = call_with(
        &shop,
        "DELETE",
        &path,
        &[("If-Match", &fresh.unwrap())],
        None,
    );
    assert_eq!(status, 204);
}
on_both_backends!(if_match_guards_changes);

/// The history of a deleted or erased cart is gone like the cart itself.
fn history_of_deleted_and_erased_carts_is_404(backend: Backend) {
    let shop = shop(backend);
    let kept = shop.track("hist-kept", Some("kept@example.com"), None);
    let deleted = shop.track("hist-deleted", Some("deleted@example.com"), None);
    let erased = shop.track("hist-erased", Some("erased@example.com"), None);
    assert_eq!(
        shop.call("GET", &format!("/api/v1/carts/{kept}/history"), None)
            .0,
        200
    );
    assert_eq!(
        shop.call("DELETE", &format!("/api/v1/carts/{deleted}"), None)
            .0,
        204
    );
    assert_eq!(
        shop.call("POST", &format!("/api/v1/carts/{erased}/erase"), None)
            .0,
        200
    );
    for (cart, session) in [(&deleted, "hist-deleted"), (&erased, "hist-erased")] {
        for id in [cart.as_str(), session] {
            let (status, answer) = shop.call("GET", &format!("/api/v1/carts/{id}/history"), None);
            assert_eq!(status, 404, "{id}: {answer}");
            assert_eq!(answer["error"]["code"], json!("NOT_FOUND"));
        }
    }
}
on_both_backends!(history_of_deleted_and_erased_carts_is_404);
