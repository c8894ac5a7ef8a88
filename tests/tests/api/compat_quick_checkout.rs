//! Seed 003 against the real api: what the in-process tests cannot show, the
//! documented limit of 100 requests a minute per IP address on its routes
//! (the request layer the binary wraps around the app), and the CLI's
//! `tenant suspend` reaching a running api within its key cache's TTL.

use std::time::Duration;

use serde_json::Value;

use cartback_testing::app::{Api, create_tenant};
use cartback_testing::process::run;
use cartback_testing::{Backend, TestDatabase};

fn seed_client_get(api: &Api, key: &str, path: &str) -> (u16, Value) {
    // The seed's curl: `curl -H "x-api-key: …" http://localhost:3000/api/carts`.
    api.call("GET", path, key, None)
}

fn the_seed_routes_are_limited_per_address(backend: Backend) {
    let db = TestDatabase::new(backend);
    let shop = create_tenant(&db.url, "1h");
    let api = Api::start(&db.url, &[("CARTBACK_AUTH_CACHE_TTL", "200ms".to_owned())]);
    let mut limited = None;
    for n in 1..=101 {
        let path = if n % 2 == 0 {
            "/api/carts"
        } else {
            "/api/analytics"
        };
        let (status, body) = seed_client_get(&api, &shop.secret, path);
        if status == 429 {
            limited = Some((n, body));
            break;
        }
        assert_eq!(status, 200, "request {n}: {body}");
    }
    let (n, body) = limited.expect("the 101st request in a minute is refused");
    assert_eq!(n, 101);
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    // The native API with the same key is counted per key, not per address.
    assert_eq!(api.v1("GET", "/carts", &shop.secret, None).0, 200);

    // The operator suspends the shop: refused within the cache's TTL.
    let env = [("DATABASE_URL", db.url.clone())];
    run("cartback", &env, &["tenant", "suspend", &shop.id]);
    std::thread::sleep(Duration::from_millis(400));
    let (status, body) = api.v1("GET", "/carts", &shop.secret, None);
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "TENANT_INACTIVE");
    run("cartback", &env, &["tenant", "resume", &shop.id]);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(api.v1("GET", "/carts", &shop.secret, None).0, 200);
}

#[test]
fn the_seed_routes_are_limited_per_address_on_sqlite() {
    the_seed_routes_are_limited_per_address(Backend::Sqlite);
}

#[test]
fn the_seed_routes_are_limited_per_address_on_postgres() {
    the_seed_routes_are_limited_per_address(Backend::Postgres);
}
