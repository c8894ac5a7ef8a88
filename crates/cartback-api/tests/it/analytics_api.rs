//! The analytics and cart-count queries in process, on both backends: every bad
//! query is a 422 naming its parameter, a publishable key gets 403 and no key
//! 401. (The reports over real traffic: the end-to-end crate's `analytics_api.rs`.)

use chrono::{TimeDelta, Utc};
use serde_json::Value;

use cartback_store::Backend;
use cartback_testing::app::error_fields;
use cartback_testing::on_both_backends;

use crate::harness::{Call, InProcess};

fn get(api: &InProcess, key: &str, path: &str) -> (u16, Value) {
    api.call("GET", path, key, None)
}

/// Every bad query: 422 with the error envelope naming the parameter; the
/// publishable key gets 403, no key 401.
fn bad_queries_are_named(backend: Backend) {
    let api = InProcess::start(backend);
    let shop = api.tenant("Test shop", TimeDelta::hours(1));
    let key = shop.secret.as_str();
    let now = Utc::now().timestamp();
    let day = 86_400;

    let cases: Vec<(String, &str)> = vec![
        // Seed 002's rules.
        (format!("/api/v1/stats/carts?date_to={now}"), "date_from"),
        (
            "/api/v1/stats/carts?date_from=yesterday".into(),
            "date_from",
        ),
        (
            format!("/api/v1/stats/carts?date_from={now}.5"),
            "date_from",
        ),
        (
            format!("/api/v1/stats/carts?date_from={}&date_to=soon", now - day),
            "date_to",
        ),
        (
            format!(
                "/api/v1/stats/carts?date_from={}&date_to={now}",
                now - 31 * day
            ),
            "date_to",
        ),
        (
            format!("/api/v1/stats/carts?date_from={}", now - 31 * day),
            "date_from",
        ),
        (
            format!("/api/v1/stats/carts?date_from={now}&date_to={}", now - 60),
            "date_to",
        ),
        (
            format!("/api/v1/stats/carts?date_from={}", now + 3600),
            "date_from",
        ),
        (
            "/api/v1/stats/carts?date_from=-5&date_to=10".into(),
            "date_from",
        ),
        (
            "/api/v1/stats/carts?date_from=1&date_from=2".into(),
            "date_from",
        ),
        // Periods.
        ("/api/v1/analytics?period=14d".into(), "period"),
        ("/api/v1/analytics?period=week".into(), "period"),
        ("/api/v1/analytics?period=Today".into(), "period"),
        ("/api/v1/analytics?period=".into(), "period"),
        (
            "/api/v1/analytics?period=7d&startDate=2026-03-01&endDate=2026-03-02".into(),
            "period",
        ),
        ("/api/v1/analytics?startDate=2026-03-01".into(), "endDate"),
        ("/api/v1/analytics?endDate=2026-03-01".into(), "startDate"),
        (
            "/api/v1/analytics?startDate=2026-03-31&endDate=2026-03-01".into(),
            "endDate",
        ),
        (
            "/api/v1/analytics?startDate=2025-01-01&endDate=2026-03-01".into(),
            "endDate",
        ),
        (
            "/api/v1/analytics?startDate=01/03/2026&endDate=2026-03-02".into(),
            "startDate",
        ),
        (
            "/api/v1/analytics?startDate=2026-02-30&endDate=2026-03-02".into(),
            "startDate",
        ),
    ];
    for (path, field) in &cases {
        let (status, body) = get(&api, key, path);
        assert_eq!(status, 422, "{path}: {body}");
        assert_eq!(body["success"], false, "{path}");
        assert_eq!(body["error"]["code"], "VALIDATION_ERROR", "{path}");
        assert!(body["error"]["message"].is_string(), "{path}");
        let details = body["error"]["details"].as_array().unwrap();
        assert_eq!(details.len(), 1, "{path}: {body}");
        assert_eq!(details[0]["field"], *field, "{path}: {body}");
        assert!(
            details[0]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{path}"
        );
    }
    let (_, body) = get(&api, key, &format!("/api/v1/stats/carts?date_to={now}"));
    assert_eq!(
        body["error"]["details"][0]["message"],
        "is required when date_to is present"
    );
    // Two bad values: both named at once.
    let (status, body) = get(&api, key, "/api/v1/stats/carts?date_from=a&date_to=b");
    assert_eq!(status, 422);
    assert_eq!(error_fields(&body), ["date_from", "date_to"]);
    // 366 days are fine; 30 days exactly too.
    let (status, body) = get(
        &api,
        key,
        "/api/v1/analytics?startDate=2025-03-02&endDate=2026-03-02",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["daily"].as_array().unwrap().len(), 366);
    let (status, body) = get(
        &api,
        key,
        &format!(
            "/api/v1/stats/carts?date_from={}&date_to={now}",
            now - 30 * day
        ),
    );
    assert_eq!(status, 200, "{body}");

    for path in ["/api/v1/analytics", "/api/v1/stats/carts"] {
        let (status, body) = get(&api, &shop.publishable, path);
        assert_eq!(status, 403, "{path}: {body}");
        assert_eq!(body["error"]["code"], "FORBIDDEN");
        let answer = api.send(Call::new("GET", path));
        assert_eq!(answer.status, 401, "{path}");
    }
}

on_both_backends!(bad_queries_are_named);
