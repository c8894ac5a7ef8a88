//! Seed 004 (Reloadify) in process, on SQLite and PostgreSQL: a client
//! written from the seed's curl examples (`Authorization: Bearer {token}`,
//! the paths under `/api/v2/languages/{language_id}`, the
//! `{"shopping_cart": {…}}` body), sending every request the seed shows and
//! checking every answer it shows, then what the seed describes without an
//! example (backfilled times, soft and hard delete, the language scope,
//! pagination and the time filters) and every refusal.

use chrono::TimeDelta;
use serde_json::{Value, json};

use cartback_store::Backend;
use cartback_store::cart_admin::shop_fields_of;
use cartback_store::carts::find_cart;
use cartback_testing::app::error_fields;
use cartback_testing::on_both_backends;

use crate::harness::{Call, InProcess};

/// `curl -X {method} https://app.reloadify.com/api/v2/{path} -H "Authorization:
/// Bearer {token}" [-H "Content-Type: application/json" -d '{body}']`, with
/// the host swapped for cartback's.
fn curl(
    server: &InProcess,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, Value) {
    let mut call = Call::new(method, &format!("/api/v2/{path}"))
        .header("Authorization", &format!("Bearer {token}"));
    if let Some(body) = body {
        call = call
            .header("Content-Type", "application/json")
            .body(body.to_owned());
    }
    let answer = server.send(call);
    (answer.status, answer.json())
}

/// [`curl`] without a body, for its status alone.
fn status_of(server: &InProcess, token: &str, method: &str, path: &str) -> u16 {
    curl(server, token, method, path, None).0
}

/// The seed's PUT example, word for word.
const SEED_PUT: &str = r#"{
    "shopping_cart": {
      "id": "cart_8f3k2m",
      "profile_id": "prof_abc123",
      "currency": "EUR",
      "price": "134.95",
      "recovery_url": "https://example-store.com/cart/recover/8f3k2m?token=rec_tk_a1b2c3",
      "recovery_token": "rec_tk_a1b2c3",
      "custom_attributes": [
        {
          "name": "cart_source",
          "string_value": "mobile_app"
        }
      ]
    }
  }"#;

/// The seed's PUT answer.
fn seed_put_answer() -> Value {
    json!({
      "id": "cart_8f3k2m",
      "profile_id": "prof_abc123",
      "product_ids": [],
      "currency": "EUR",
      "price": "134.95",
      "recovery_url": "https://example-store.com/cart/recover/8f3k2m?token=rec_tk_a1b2c3",
      "recovery_token": "rec_tk_a1b2c3",
      "deleted": false,
      "created_at": "2026-03-15T14:22:00Z",
      "updated_at": "2026-03-15T14:22:00Z",
      "custom_attributes": [
        {
          "name": "cart_source",
          "string_value": "mobile_app"
        }
      ]
    })
}

/// `answer` without the two times, which say when the test ran.
fn untimed(answer: &Value) -> Value {
    let mut answer = answer.clone();
    if let Some(object) = answer.as_object_mut() {
        object.remove("created_at");
        object.remove("updated_at");
    }
    answer
}

fn listed(answer: &Value) -> Vec<String> {
    answer["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

fn the_seeds_examples(backend: Backend) {
    let server = InProcess::start(backend);
    let shop = server.tenant("Wool shop", TimeDelta::hours(1));
    let token = shop.secret.as_str();

    // PUT, exactly as the seed: created (201), the seed's answer but for the
    // times, which are now.
    let (status, answer) = curl(
        &server,
        token,
        "PUT",
        "languages/en/shopping_carts",
        Some(SEED_PUT),
    );
    assert_eq!(status, 201, "{answer}");
    assert_eq!(untimed(&answer), untimed(&seed_put_answer()));
    assert_eq!(answer["created_at"], answer["updated_at"]);
    assert!(answer["created_at"].as_str().unwrap().ends_with('Z'));

    // The same with the history backfilled: the seed's answer to the letter,
    // and 200 now that the cart exists.
    let mut backfilled: Value = serde_json::from_str(SEED_PUT).unwrap();
    backfilled["shopping_cart"]["created_at"] = json!("2026-03-15T14:22:00Z");
    backfilled["shopping_cart"]["updated_at"] = json!("2026-03-15T14:22:00Z");
    let (status, answer) = curl(
        &server,
        token,
        "PUT",
        "languages/en/shopping_carts",
        Some(&backfilled.to_string()),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, seed_put_answer());

    // Add product to cart, twice, as the seed's curl; then the two products
    // the seed's GET shows.
    for product in [
        "prod_running_shoes",
        "prod_wool_sweater",
        "prod_leather_belt",
    ] {
        let (status, answer) = curl(
            &server,
            token,
            "PUT",
            &format!("languages/en/shopping_carts/cart_8f3k2m/products/{product}"),
            None,
        );
        assert_eq!(status, 200, "{answer}");
    }
    // Remove product from cart, as the seed's curl.
    let (status, answer) = curl(
        &server,
        token,
        "DELETE",
        "languages/en/shopping_carts/cart_8f3k2m/products/prod_running_shoes",
        None,
    );
    assert_eq!(status, 200, "{answer}");
    // Adding a product the cart holds changes nothing.
    let (status, answer) = curl(
        &server,
        token,
        "PUT",
        "languages/en/shopping_carts/cart_8f3k2m/products/prod_wool_sweater",
        None,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["product_ids"],
        json!(["prod_wool_sweater", "prod_leather_belt"])
    );

    // Retrieve a shopping cart: the seed's answer (its update time is the
    // product change's, now).
    let (status, answer) = curl(
        &server,
        token,
        "GET",
        "languages/en/shopping_carts/cart_8f3k2m",
        None,
    );
    assert_eq!(status, 200, "{answer}");
    let mut expected = seed_put_answer();
    expected["product_ids"] = json!(["prod_wool_sweater", "prod_leather_belt"]);
    assert_eq!(untimed(&answer), untimed(&expected));
    assert_eq!(answer["created_at"], "2026-03-15T14:22:00Z");
    assert_ne!(answer["updated_at"], "2026-03-15T14:22:00Z");

    // List cart products: the seed's answer exactly.
    let (status, answer) = curl(
        &server,
        token,
        "GET",
        "languages/en/shopping_carts/cart_8f3k2m/products",
        None,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({"data": [{"id": "prod_wool_sweater"}, {"id": "prod_leather_belt"}]})
    );

    // List all shopping carts: `curl -G … -d per_page=10 -d page=1`.
    let (status, answer) = curl(
        &server,
        token,
        "GET",
        "languages/en/shopping_carts?per_page=10&page=1",
        None,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer.as_object().unwrap().len(), 1, "only data: {answer}");
    assert_eq!(untimed(&answer["data"][0]), untimed(&expected));

    // The cart is a cart like any other: the native API shows it, with the
    // language as its locale and its lines as product ids.
    let (status, native) = server.v1("GET", "/carts/cart_8f3k2m", token, None);
    assert_eq!(status, 200, "{native}");
    assert_eq!(native["data"]["externalId"], "cart_8f3k2m");
    assert_eq!(native["data"]["locale"], "en");
    assert_eq!(native["data"]["total"], "134.95");
    assert_eq!(native["data"]["currency"], "EUR");
    assert_eq!(native["data"]["itemCount"], 2);
    assert_eq!(native["data"]["createdAt"], "2026-03-15T14:22:00.000Z");
    let cart_id = native["data"]["id"].as_str().unwrap().to_owned();

    // Remove product from cart, the seed's own request: the other product stays.
    let (status, answer) = curl(
        &server,
        token,
        "DELETE",
        "languages/en/shopping_carts/cart_8f3k2m/products/prod_leather_belt",
        None,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["product_ids"], json!(["prod_wool_sweater"]));
    let (_, products) = curl(
        &server,
        token,
        "GET",
        "languages/en/shopping_carts/cart_8f3k2m/products",
        None,
    );
    assert_eq!(products, json!({"data": [{"id": "prod_wool_sweater"}]}));

    // Delete a shopping cart: irreversible, erased like `POST …/erase`.
    assert_eq!(
        status_of(
            &server,
            token,
            "DELETE",
            "languages/en/shopping_carts/cart_8f3k2m"
        ),
        204
    );
    let (status, answer) = curl(
        &server,
        token,
        "GET",
        "languages/en/shopping_carts/cart_8f3k2m",
        None,
    );
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"]["code"], "NOT_FOUND");
    assert_eq!(
        status_of(
            &server,
            token,
            "DELETE",
            "languages/en/shopping_carts/cart_8f3k2m"
        ),
        404
    );
    let mut conn = server.store.conn().unwrap();
    let erased = find_cart(&mut conn, &shop.id, &cart_id).unwrap().unwrap();
    assert!(erased.erased_at.is_some());
    assert_eq!(erased.external_id, None);
    assert_eq!(erased.customer_email, None);
    assert!(erased.attributes.is_empty());
    assert!(
        erased
            .items
            .iter()
            .all(|item| item.id.starts_with("erased-"))
    );
    assert!(
        shop_fields_of(&mut conn, &shop.id, &[cart_id.as_str()])
            .unwrap()
            .is_empty(),
        "the profile id and the recovery link are gone"
    );
    let (status, _) = server.v1("GET", &format!("/carts/{cart_id}"), token, None);
    assert_eq!(status, 404);
    // The id is free again: a new cart.
    let (status, answer) = curl(
        &server,
        token,
        "PUT",
        "languages/en/shopping_carts",
        Some(SEED_PUT),
    );
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["product_ids"], json!([]));
}

fn languages_deletes_and_pages(backend: Backend) {
    let server = InProcess::start(backend);
    let shop = server.tenant("Wool shop", TimeDelta::hours(1));
    let other = server.tenant("Other shop", TimeDelta::hours(1));
    let token = shop.secret.as_str();
    let put = |language: &str, cart: Value| -> (u16, Value) {
        curl(
            &server,
            token,
            "PUT",
            &format!("languages/{language}/shopping_carts"),
            Some(&json!({"shopping_cart": cart}).to_string()),
        )
    };
    let (status, _) = put(
        "en",
        json!({"id": "march", "profile_id": 7, "price": 10, "product_ids": ["a", 2, "a"],
               "created_at": "2026-03-15T13:22:00Z", "updated_at": "2026-03-15T15:00:00+01:00"}),
    );
    assert_eq!(status, 201);
    let (status, answer) = put(
        "nl-NL",
        json!({"id": "dutch", "profile_id": "prof_nl", "email": "anne@example.nl",
               "custom_attributes": [{"name": "tier", "integer_value": 3},
                                     {"name": "since", "date_value": "2024-05-01"},
                                     {"name": "seen", "datetime_value": "2026-03-15T15:22:00+01:00"},
                                     {"name": "vip", "boolean_value": true}]}),
    );
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        answer["custom_attributes"],
        json!([{"name": "seen", "datetime_value": "2026-03-15T14:22:00Z"},
               {"name": "since", "date_value": "2024-05-01"},
               {"name": "tier", "integer_value": 3},
               {"name": "vip", "boolean_value": true}])
    );
    assert_eq!(answer["price"], "0.00");
    assert_eq!(answer["currency"], "USD");
    // A whole number written as a float is that integer, as in the native API.
    let (status, answer) = put(
        "en",
        json!({"id": 19_103_181.0, "profile_id": 7.0, "product_ids": [-392_104.0, "b"],
               "custom_attributes": [{"name": "tier", "integer_value": 3.0}]}),
    );
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        (&answer["id"], &answer["profile_id"], &answer["product_ids"]),
        (&json!("19103181"), &json!("7"), &json!(["-392104", "b"]))
    );
    assert_eq!(
        answer["custom_attributes"],
        json!([{"name": "tier", "integer_value": 3}])
    );
    assert_eq!(
        status_of(
            &server,
            token,
            "DELETE",
            "languages/en/shopping_carts/19103181"
        ),
        204
    );
    // Ids sent as integers come back as text; a repeated product is one.
    let (_, march) = curl(
        &server,
        token,
        "GET",
        "languages/en/shopping_carts/march",
        None,
    );
    assert_eq!(march["profile_id"], "7");
    assert_eq!(march["product_ids"], json!(["a", "2"]));
    assert_eq!(march["price"], "10.00");
    assert_eq!(march["updated_at"], "2026-03-15T14:00:00Z");
    // cartback's `email` makes the cart one it can email.
    let (_, dutch) = server.v1("GET", "/carts/dutch", token, None);
    assert_eq!(dutch["data"]["customerEmail"], "anne@example.nl");
    assert_eq!(dutch["data"]["locale"], "nl-NL");

    // A cart is found and listed under its language: `nl` covers `nl-NL`.
    let list = |path: &str| -> Vec<String> {
        let (status, answer) = curl(&server, token, "GET", path, None);
        assert_eq!(status, 200, "{path}: {answer}");
        listed(&answer)
    };
    assert_eq!(list("languages/en/shopping_carts"), ["march"]);
    assert_eq!(list("languages/nl/shopping_carts"), ["dutch"]);
    assert_eq!(list("languages/nl-NL/shopping_carts"), ["dutch"]);
    assert_eq!(list("languages/de/shopping_carts"), Vec::<String>::new());
    assert_eq!(
        status_of(&server, token, "GET", "languages/de/shopping_carts/dutch"),
        404
    );
    assert_eq!(
        status_of(&server, token, "GET", "languages/nl/shopping_carts/dutch"),
        200
    );
    // Another shop sees none of them.
    let (status, answer) = curl(
        &server,
        &other.secret,
        "GET",
        "languages/en/shopping_carts",
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(answer, json!({"data": []}));
    assert_eq!(
        status_of(
            &server,
            &other.secret,
            "GET",
            "languages/en/shopping_carts/march"
        ),
        404
    );

    // The time filters and pages.
    for (query, expected) in [
        ("created_before=2026-03-16T00:00:00Z", vec!["march"]),
        ("created_after=2026-03-16T00:00:00Z", vec![]),
        // A timestamp as unix seconds (2026-03-16T00:00:00Z), or a date.
        ("created_before=1773619200", vec!["march"]),
        ("created_after=1773619200", vec![]),
        ("created_before=2026-03-16", vec!["march"]),
        ("updated_after=2026-03-15T13:59:59Z", vec!["march"]),
        ("updated_before=2026-03-15T14:00:00Z", vec![]),
        ("per_page=250&page=1", vec!["march"]),
        ("per_page=10&page=2", vec![]),
    ] {
        assert_eq!(
            list(&format!("languages/en/shopping_carts?{query}")),
            expected,
            "{query}"
        );
    }
    for i in 0..3 {
        put("en", json!({"id": format!("extra-{i}"), "profile_id": "p"}));
    }
    assert_eq!(
        list("languages/en/shopping_carts?per_page=2&page=1").len(),
        2
    );
    assert_eq!(
        list("languages/en/shopping_carts?per_page=2&page=2").len(),
        2
    );
    assert_eq!(list("languages/en/shopping_carts").len(), 4);

    // Soft delete: still listed and retrievable, flagged; hidden from the
    // native API and out of the recovery flow; a later PUT shows it again.
    let (status, answer) = put(
        "en",
        json!({"id": "march", "profile_id": 7, "deleted": true}),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["deleted"], true);
    // Fields left out were kept.
    assert_eq!(answer["price"], "10.00");
    assert_eq!(answer["product_ids"], json!(["a", "2"]));
    let (_, march) = curl(
        &server,
        token,
        "GET",
        "languages/en/shopping_carts/march",
        None,
    );
    assert_eq!(march["deleted"], true);
    assert!(list("languages/en/shopping_carts").contains(&"march".to_owned()));
    let (status, _) = server.v1("GET", "/carts/march", token, None);
    assert_eq!(status, 404);
    assert_eq!(
        status_of(
            &server,
            token,
            "PUT",
            "languages/en/shopping_carts/march/products/b"
        ),
        404,
        "a deleted cart's products do not change"
    );
    let (status, answer) = put("en", json!({"id": "march", "profile_id": 7}));
    assert_eq!(status, 200);
    assert_eq!(answer["deleted"], false);
    let (status, _) = server.v1("GET", "/carts/march", token, None);
    assert_eq!(status, 200);
    // Written under another language, a cart moves to it.
    put("de", json!({"id": "march", "profile_id": 7}));
    assert!(!list("languages/en/shopping_carts").contains(&"march".to_owned()));
    assert_eq!(list("languages/de/shopping_carts"), ["march"]);

    // Ten carts a page unless asked: eleven under `en` are a page of ten
    // and a page of one.
    for i in 3..11 {
        let (status, _) = put("en", json!({"id": format!("extra-{i}"), "profile_id": "p"}));
        assert_eq!(status, 201);
    }
    assert_eq!(list("languages/en/shopping_carts").len(), 10);
    assert_eq!(list("languages/en/shopping_carts?page=2").len(), 1);
    assert_eq!(list("languages/en/shopping_carts?per_page=11").len(), 11);
}

fn every_refusal(backend: Backend) {
    let server = InProcess::start(backend);
    let shop = server.tenant("Wool shop", TimeDelta::hours(1));
    let token = shop.secret.as_str();
    let put = |body: &str| {
        curl(
            &server,
            token,
            "PUT",
            "languages/en/shopping_carts",
            Some(body),
        )
    };

    // Authentication: no token, an unknown one, a publishable key.
    let answer = server.send(Call::new("GET", "/api/v2/languages/en/shopping_carts"));
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json()["error"]["code"], "UNAUTHORIZED");
    assert_eq!(
        status_of(&server, "sk_unknown", "GET", "languages/en/shopping_carts"),
        401
    );
    let (status, answer) = curl(
        &server,
        &shop.publishable,
        "GET",
        "languages/en/shopping_carts",
        None,
    );
    assert_eq!(status, 403, "{answer}");

    // Bodies.
    let (status, answer) = put("{not json");
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = put(r#"{"id": "cart_1", "profile_id": "p"}"#);
    assert_eq!(status, 422);
    assert_eq!(error_fields(&answer), ["id", "profile_id", "shopping_cart"]);
    let (status, answer) = put(r#"{"shopping_cart": {}}"#);
    assert_eq!(status, 422);
    assert_eq!(
        error_fields(&answer),
        ["shopping_cart.id", "shopping_cart.profile_id"]
    );
    let bad = json!({"shopping_cart": {
        "id": "x".repeat(201), "profile_id": true, "currency": "EURO", "price": "12.345",
        "recovery_url": "javascript:alert(1)", "created_at": "yesterday",
        "updated_at": "2999-01-01T00:00:00Z", "product_ids": "prod_1", "deleted": "yes",
        "email": "not-an-address", "colour": "red"}});
    let (status, answer) = put(&bad.to_string());
    assert_eq!(status, 422, "{answer}");
    let mut fields = error_fields(&answer);
    fields.sort();
    assert_eq!(
        fields,
        [
            "shopping_cart.colour",
            "shopping_cart.created_at",
            "shopping_cart.currency",
            "shopping_cart.deleted",
            "shopping_cart.email",
            "shopping_cart.id",
            "shopping_cart.product_ids",
            "shopping_cart.profile_id",
            "shopping_cart.recovery_url",
            "shopping_cart.updated_at",
        ]
    );
    for (price, field) in [
        ("\"12.345\"", "shopping_cart.price"),
        ("\"-1\"", "shopping_cart.price"),
        ("\"abc\"", "shopping_cart.price"),
    ] {
        let (status, answer) = put(&format!(
            r#"{{"shopping_cart": {{"id": "c", "profile_id": "p", "currency": "EUR", "price": {price}}}}}"#
        ));
        assert_eq!(status, 422, "{price}: {answer}");
        assert_eq!(error_fields(&answer), [field], "{price}");
    }
    // Custom attributes: Reloadify's snake_case names only, one typed value each.
    for attribute in [
        json!({"name": "a", "stringValue": "camel case is cartback's own"}),
        json!({"name": "a", "string_value": 5}),
        json!({"name": "a", "integer_value": 1.5}),
        json!({"name": "a", "date_value": "2026-02-30"}),
        json!({"name": "a", "string_value": "x", "boolean_value": true}),
        json!("text"),
    ] {
        let body = json!({"shopping_cart": {"id": "c", "profile_id": "p",
                                            "custom_attributes": [{"name": "ok", "string_value": "fine"}, attribute]}});
        let (status, answer) = put(&body.to_string());
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(
            error_fields(&answer),
            ["shopping_cart.custom_attributes[1]"],
            "{body}"
        );
    }
    let (status, answer) = put(
        r#"{"shopping_cart": {"id": "c", "profile_id": "p", "created_at": "2026-03-15T15:00:00Z", "updated_at": "2026-03-15T14:00:00Z"}}"#,
    );
    assert_eq!(status, 422);
    assert_eq!(error_fields(&answer), ["shopping_cart.updated_at"]);

    // Paths: a language that is no locale code, an unknown cart or product.
    let (status, answer) = curl(&server, token, "GET", "languages/!!/shopping_carts", None);
    assert_eq!(status, 404, "{answer}");
    assert_eq!(
        status_of(&server, token, "GET", "languages/en/shopping_carts/nope"),
        404
    );
    assert_eq!(
        status_of(
            &server,
            token,
            "GET",
            "languages/en/shopping_carts/nope/products"
        ),
        404
    );
    assert_eq!(
        status_of(
            &server,
            token,
            "PUT",
            "languages/en/shopping_carts/nope/products/p1"
        ),
        404
    );
    let (status, _) = put(r#"{"shopping_cart": {"id": "c", "profile_id": "p"}}"#);
    assert_eq!(status, 201);
    let (status, answer) = curl(
        &server,
        token,
        "DELETE",
        "languages/en/shopping_carts/c/products/p1",
        None,
    );
    assert_eq!(status, 404, "{answer}");
    assert_eq!(
        answer["error"]["message"],
        "this product is not in the cart"
    );
    let long = "p".repeat(201);
    assert_eq!(
        status_of(
            &server,
            token,
            "PUT",
            &format!("languages/en/shopping_carts/c/products/{long}")
        ),
        422
    );

    // The list's parameters.
    for (query, field) in [
        ("per_page=251", "per_page"),
        ("per_page=0", "per_page"),
        ("page=0", "page"),
        ("created_after=yesterday", "created_after"),
        ("status=pending", "status"),
    ] {
        let (status, answer) = curl(
            &server,
            token,
            "GET",
            &format!("languages/en/shopping_carts?{query}"),
            None,
        );
        assert_eq!(status, 422, "{query}: {answer}");
        assert_eq!(error_fields(&answer), [field], "{query}");
    }
}

/// A shop whose Reloadify languages are numbered (a store's id) or named by
/// a store code tells cartback the locale of each
/// (`PUT /api/v1/settings/languages`); its client then works with its own
/// ids unchanged, from the next request on (the key cache is on).
fn the_shops_own_language_ids(backend: Backend) {
    let server = InProcess::start(backend);
    let shop = server.tenant("Wool shop", TimeDelta::hours(1));
    let token = shop.secret.as_str();
    let settings = |body: Option<&Value>| -> (u16, Value) {
        let method = if body.is_some() { "PUT" } else { "GET" };
        server.v1(method, "/settings/languages", token, body)
    };
    let cart = |language: &str, id: &str| -> (u16, Value) {
        curl(
            &server,
            token,
            "PUT",
            &format!("languages/{language}/shopping_carts"),
            Some(
                &json!({"shopping_cart": {"id": id, "profile_id": "p", "product_ids": ["prod_1"]}})
                    .to_string(),
            ),
        )
    };
    let list = |language: &str| -> Vec<String> {
        let (status, answer) = curl(
            &server,
            token,
            "GET",
            &format!("languages/{language}/shopping_carts"),
            None,
        );
        assert_eq!(status, 200, "{language}: {answer}");
        listed(&answer)
    };

    // None yet: a number names no language.
    assert_eq!(
        settings(None),
        (200, json!({"success": true, "languages": []}))
    );
    let (status, answer) = cart("1", "cart_numbered");
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"]["code"], "NOT_FOUND");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/api/v1/settings/languages"),
        "{answer}"
    );

    // The shop's ids and their locales, normalised.
    let (status, answer) = settings(Some(&json!({"languages": [
        {"id": "1", "locale": "en"},
        {"id": "2", "locale": "nl_nl"},
        {"id": "default", "locale": "de"},
        {"id": "nl", "locale": "nl-BE"},
    ]})));
    assert_eq!(status, 200, "{answer}");
    let stored = json!({"success": true, "languages": [
        {"id": "1", "locale": "en"},
        {"id": "2", "locale": "nl-NL"},
        {"id": "default", "locale": "de"},
        {"id": "nl", "locale": "nl-BE"},
    ]});
    assert_eq!(answer, stored);
    assert_eq!(settings(None), (200, stored));

    // A cart written under an id gets its locale, and is found under the id
    // and under the locale.
    assert_eq!(cart("2", "cart_dutch").0, 201);
    assert_eq!(cart("default", "cart_german").0, 201);
    assert_eq!(cart("1", "cart_english").0, 201);
    let (_, native) = server.v1("GET", "/carts/cart_dutch", token, None);
    assert_eq!(native["data"]["locale"], "nl-NL");
    let (_, native) = server.v1("GET", "/carts/cart_german", token, None);
    assert_eq!(native["data"]["locale"], "de");
    assert_eq!(list("2"), ["cart_dutch"]);
    assert_eq!(list("nl-NL"), ["cart_dutch"]);
    assert_eq!(list("default"), ["cart_german"]);
    assert_eq!(list("1"), ["cart_english"]);
    for (path, expected) in [
        ("languages/2/shopping_carts/cart_dutch", 200),
        ("languages/2/shopping_carts/cart_dutch/products", 200),
        ("languages/1/shopping_carts/cart_dutch", 404),
        ("languages/3/shopping_carts/cart_dutch", 404),
    ] {
        assert_eq!(status_of(&server, token, "GET", path), expected, "{path}");
    }
    assert_eq!(
        status_of(
            &server,
            token,
            "PUT",
            "languages/2/shopping_carts/cart_dutch/products/prod_2"
        ),
        200
    );
    // A listed id that looks like a locale code means what the shop says.
    assert_eq!(cart("nl", "cart_flemish").0, 201);
    let (_, native) = server.v1("GET", "/carts/cart_flemish", token, None);
    assert_eq!(native["data"]["locale"], "nl-BE");
    assert_eq!(list("nl"), ["cart_flemish"]);

    // Every bad field at once; then each entry's content.
    let (status, answer) = settings(Some(&json!({"languages": [
        {"id": 1, "locale": "en"},
        {"id": "2"},
        "3",
        {"id": "4", "locale": "de", "name": "Deutsch"},
    ], "default": "1"})));
    assert_eq!(status, 422, "{answer}");
    let mut fields = error_fields(&answer);
    fields.sort();
    assert_eq!(
        fields,
        [
            "default",
            "languages[0].id",
            "languages[1].locale",
            "languages[2]",
            "languages[3].name"
        ]
    );
    let (status, answer) = settings(Some(&json!({"languages": [
        {"id": "ok", "locale": "en"},
        {"id": "two words", "locale": "en"},
        {"id": "3", "locale": "english"},
        {"id": "x".repeat(65), "locale": "en"},
    ]})));
    assert_eq!(status, 422, "{answer}");
    assert_eq!(
        error_fields(&answer),
        ["languages[1].id", "languages[2].locale", "languages[3].id"]
    );
    let many: Vec<Value> = (0..101)
        .map(|n| json!({"id": n.to_string(), "locale": "en"}))
        .collect();
    for body in [
        json!({"languages": many}),
        json!({}),
        json!({"languages": {"1": "en"}}),
    ] {
        let (status, answer) = settings(Some(&body));
        assert_eq!(status, 422, "{answer}");
        assert_eq!(error_fields(&answer), ["languages"]);
    }
    // Refused changes kept the list; a publishable key may not read or change it.
    assert_eq!(settings(None).1["languages"].as_array().unwrap().len(), 4);
    for method in ["GET", "PUT"] {
        let body = (method == "PUT").then(|| json!({"languages": []}));
        let (status, answer) = server.v1(
            method,
            "/settings/languages",
            &shop.publishable,
            body.as_ref(),
        );
        assert_eq!(status, 403, "{method}: {answer}");
    }

    // Cleared: the numbers name nothing again; the carts keep their locales.
    assert_eq!(
        settings(Some(&json!({"languages": []}))),
        (200, json!({"success": true, "languages": []}))
    );
    assert_eq!(
        status_of(&server, token, "GET", "languages/2/shopping_carts"),
        404
    );
    assert_eq!(list("nl-NL"), ["cart_dutch"]);
}

on_both_backends!(
    the_seeds_examples,
    languages_deletes_and_pages,
    every_refusal,
    the_shops_own_language_ids
);
