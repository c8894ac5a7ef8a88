//! What needs the real api binary about bad input: NUL characters through every
//! documented field (the request layers included), wrong methods, stalled
//! bodies and malformed HTTP. The track and settings validation, and the limits
//! under concurrency, are tested in process (crates/cartback-api/tests/it/bad_input.rs).

use std::time::Duration;

use serde_json::{Value, json};

use cartback_store::Backend;
use cartback_testing::TestDatabase;
use cartback_testing::app::master_key;
use cartback_testing::process::{free_port, wait_for};

/// Every string leaf of `body`, as a path of keys and indexes.
fn string_paths(value: &Value, path: &mut Vec<String>, found: &mut Vec<Vec<String>>) {
    match value {
        Value::String(_) => found.push(path.clone()),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(index.to_string());
                string_paths(item, path, found);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                path.push(key.clone());
                string_paths(item, path, found);
                path.pop();
            }
        }
        _ => {}
    }
}

fn with_nul(body: &Value, path: &[String]) -> Value {
    let mut body = body.clone();
    let mut target = &mut body;
    for key in path {
        target = match key.parse::<usize>() {
            Ok(index) if target.is_array() => &mut target[index],
            _ => &mut target[key.as_str()],
        };
    }
    let text = target.as_str().unwrap_or_default().to_owned();
    *target = Value::String(format!("{text}\u{0}x"));
    body
}

/// `$ref`s of the document resolved, one level at a time.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(doc, doc.pointer(pointer).unwrap_or(&Value::Null))
        }
        None => schema,
    }
}

/// A value of `schema` with every property present (and every alternative of a
/// `oneOf`/`anyOf` merged in), so that each string field the document declares
/// is a leaf of it. Not necessarily valid: only where the strings sit matters.
fn skeleton(doc: &Value, schema: &Value, depth: usize) -> Value {
    let schema = resolve(doc, schema);
    if depth > 8 {
        return Value::Null;
    }
    let mut merged = serde_json::Map::new();
    let mut other = None;
    for key in ["allOf", "oneOf", "anyOf"] {
        for alternative in schema[key].as_array().into_iter().flatten() {
            match skeleton(doc, alternative, depth + 1) {
                Value::Object(map) => merged.extend(map),
                Value::Null => {}
                value => other = other.or(Some(value)),
            }
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ if schema["properties"].is_object() => vec!["object"],
        _ => vec![],
    };
    let kind = types.iter().copied().find(|t| *t != "null");
    match kind {
        Some("object") => {
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                merged.insert(name.clone(), skeleton(doc, property, depth + 1));
            }
            if schema["additionalProperties"].is_object() {
                merged.insert(
                    "someKey".to_owned(),
                    skeleton(doc, &schema["additionalProperties"], depth + 1),
                );
            }
            Value::Object(merged)
        }
        Some("array") => Value::Array(vec![skeleton(doc, &schema["items"], depth + 1)]),
        Some("string") => json!("x"),
        Some("integer" | "number") => json!(1),
        Some("boolean") => json!(true),
        _ if !merged.is_empty() => Value::Object(merged),
        _ => other.unwrap_or(Value::Null),
    }
}

/// `items[0].name`: how the api names a JSON path in `details`.
fn field_name(path: &[String]) -> String {
    let mut name = String::new();
    for part in path {
        match part.parse::<usize>() {
            Ok(index) => name.push_str(&format!("[{index}]")),
            Err(_) if name.is_empty() => name.push_str(part),
            Err(_) => name.push_str(&format!(".{part}")),
        }
    }
    name
}

/// A refusal in the error envelope: 4xx, `success: false`, a code.
fn assert_refused(what: &str, status: u16, answer: &Value) {
    assert!((400..500).contains(&status), "{what}: {status} {answer}");
    assert_eq!(answer["success"], json!(false), "{what}: {status} {answer}");
    assert!(answer["error"]["code"].is_string(), "{what}: {answer}");
}

/// PostgreSQL cannot store U+0000 in text. Driven by the served /openapi.json,
/// so a new endpoint is swept without touching this test: every string field of
/// every documented JSON body, every path parameter and every query parameter
/// of every operation, with a NUL, is refused in the error envelope (a 422
/// naming the field or parameter, a 404 for a path), never a 5xx.
#[test]
fn nul_characters_never_reach_the_database_on_postgres() {
    let db = TestDatabase::new(Backend::Postgres);
    let tenant = cartback_testing::app::create_tenant(&db.url, "1h");
    let api = cartback_testing::app::Api::start(
        &db.url,
        &[
            ("CARTBACK_MASTER_KEY", master_key()),
            ("CARTBACK_RATE_LIMIT_KEY_PER_MINUTE", "0".to_owned()),
            ("CARTBACK_RATE_LIMIT_IP_PER_MINUTE", "0".to_owned()),
            ("CARTBACK_AUTH_CACHE_TTL", "0".to_owned()),
        ],
    );
    let secret = tenant.secret.as_str();
    // Real objects, so a path parameter not under test names something that
    // exists and each request reaches as far into its handler as it can.
    let (status, cart) = api.call(
        "PUT",
        "/api/v1/carts",
        secret,
        Some(&json!({"externalId": "order-1", "currency": "USD",
            "items": [{"id": "sku_1", "name": "P", "price": 10, "quantity": 1}]})),
    );
    assert!(status == 201 || status == 200, "{status} {cart}");
    let cart_id = cart["data"]["id"].as_str().unwrap().to_owned();
    let (status, hook) = api.call(
        "POST",
        "/api/v1/webhook-endpoints",
        secret,
        Some(&json!({"url": "https://hooks.example.com/a", "events": ["cart.abandoned"]})),
    );
    assert_eq!(status, 201, "{hook}");
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    let real = |path: &str, name: &str| -> String {
        match name {
            "id" if path.contains("webhook-endpoints") => hook_id.clone(),
            "id" => cart_id.clone(),
            "item_id" => "sku_1".to_owned(),
            "tenant_id" => tenant.id.clone(),
            "name" => "reminder".to_owned(),
            "locale" | "language_id" => "en".to_owned(),
            "email" => "sam@example.com".to_owned(),
            _ => "x".to_owned(),
        }
    };

    let response = api
        .http
        .get(format!("{}/openapi.json", api.base))
        .send()
        .unwrap();
    let doc: Value = response.json().unwrap();
    let (mut operations, mut bodies, mut leaves, mut path_params, mut query_params) =
        (0, 0, 0, 0, 0);
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !["get", "put", "post", "patch", "delete", "options"].contains(&method.as_str()) {
                continue;
            }
            operations += 1;
            let method = method.to_ascii_uppercase();
            let roles = operation["security"].to_string();
            // A route for the browser key only gets that key; every other one
            // the secret key (routes without a key ignore it).
            let key = if roles.contains("publishable") && !roles.contains("secret") {
                tenant.publishable.as_str()
            } else {
                secret
            };
            let parameters: Vec<&Value> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| resolve(&doc, p))
                .collect();
            let fill = |nul_in: Option<&str>| -> String {
                let mut path = template.clone();
                for p in parameters.iter().filter(|p| p["in"] == "path") {
                    let name = p["name"].as_str().unwrap();
                    let value = if nul_in == Some(name) {
                        format!("{}%00x", real(template, name))
                    } else {
                        real(template, name)
                    };
                    path = path.replace(&format!("{{{name}}}"), &value);
                }
                path
            };

            for p in parameters.iter().filter(|p| p["in"] == "path") {
                let name = p["name"].as_str().unwrap();
                let path = fill(Some(name));
                let what = format!("{method} {path}");
                let (status, answer) = api.call(&method, &path, key, None);
                assert_refused(&what, status, &answer);
                assert_eq!(status, 404, "{what}: {answer}");
                path_params += 1;
            }
            for p in parameters.iter().filter(|p| p["in"] == "query") {
                let name = p["name"].as_str().unwrap();
                let path = format!("{}?{name}=a%00", fill(None));
                let what = format!("{method} {path}");
                let (status, answer) = api.call(&method, &path, key, None);
                assert_refused(&what, status, &answer);
                assert_eq!(status, 422, "{what}: {answer}");
                assert_eq!(
                    answer["error"]["details"][0]["field"],
                    json!(name),
                    "{what}"
                );
                query_params += 1;
            }

            let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            if schema.is_null() {
                continue;
            }
            bodies += 1;
            let body = skeleton(&doc, schema, 0);
            let path = fill(None);
            let mut found = Vec::new();
            string_paths(&body, &mut Vec::new(), &mut found);
            for leaf in &found {
                let bad = with_nul(&body, leaf);
                let field = field_name(leaf);
                let what = format!("{method} {path} {field}");
                let (status, answer) = api.call(&method, &path, key, Some(&bad));
                assert_refused(&what, status, &answer);
                // Open routes (`security: []`, Stripe's intake) judge their
                // own credentials first: the intake's signature is a 400.
                if operation["security"] != json!([]) {
                    assert_eq!(status, 422, "{what}: {answer}");
                    assert_eq!(
                        answer["error"]["details"][0]["field"],
                        json!(field),
                        "{what}"
                    );
                }
                leaves += 1;
            }
            // A NUL inside a key is refused too.
            let mut keyed = body.clone();
            if let Some(map) = keyed.as_object_mut() {
                map.insert("bad\u{0}key".into(), json!(1));
            }
            let (status, answer) = api.call(&method, &path, key, Some(&keyed));
            assert_refused(&format!("{method} {path} key"), status, &answer);
        }
    }
    // The document really was walked: ~60 operations, ~20 JSON bodies.
    assert!(operations > 50, "{operations}");
    assert!(bodies > 15, "{bodies}");
    assert!(leaves > 80, "{leaves}");
    assert!(path_params > 25, "{path_params}");
    assert!(query_params > 10, "{query_params}");

    // A query parameter the document does not declare is named too.
    let (status, answer) = api.call("GET", "/api/v1/webhook-endpoints?x%00=1", secret, None);
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["details"][0]["field"], "x\\u0000");
}

/// A known path asked with a method it does not serve is a 405 naming the ones it
/// does; an unknown path stays a 404. A client that stalls mid-body gets a 408
/// after `CARTBACK_BODY_READ_TIMEOUT` and its connection closed.
#[test]
fn wrong_methods_and_stalled_bodies() {
    use std::io::{Read, Write};

    let db = TestDatabase::new(Backend::Sqlite);
    let tenant = cartback_testing::app::create_tenant(&db.url, "1h");
    let api = cartback_testing::app::Api::start(
        &db.url,
        &[("CARTBACK_BODY_READ_TIMEOUT", "1s".to_owned())],
    );
    let key = tenant.secret.as_str();
    for (method, path, allow) in [
        ("DELETE", "/api/v1/track", "OPTIONS, POST"),
        ("POST", "/api/v1/carts/abc", "DELETE, GET, PATCH"),
        ("PUT", "/api/v1/suppressions", "GET, POST"),
        ("POST", "/healthz", "GET"),
    ] {
        let response = api
            .http
            .request(method.parse().unwrap(), format!("{}{path}", api.base))
            .header("X-API-Key", key)
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 405, "{method} {path}");
        assert_eq!(
            response.headers()["allow"].to_str().unwrap(),
            allow,
            "{method} {path}"
        );
        let body: Value = response.json().unwrap();
        assert_eq!(body["error"]["code"], "METHOD_NOT_ALLOWED");
    }
    let (status, body) = api.call("GET", "/api/v1/no-such-thing", key, None);
    assert_eq!(status, 404, "{body}");

    let address = api.base.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /api/v1/track HTTP/1.1\r\nHost: {address}\r\nX-API-Key: {key}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"event\":"
    )
    .unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("REQUEST_TIMEOUT"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    // The server is still serving.
    let (status, _) = api.call("GET", "/api/v1/carts", key, None);
    assert_eq!(status, 200);
}

/// Malformed HTTP is the client's fault: answered 400 and not logged as an
/// ERROR at the default log level.
#[test]
fn malformed_http_is_not_an_error_in_the_log() {
    use std::io::{Read, Write};

    let db = TestDatabase::new(Backend::Sqlite);
    let _ = cartback_testing::app::create_tenant(&db.url, "1h");
    let port = free_port();
    let log_path = std::env::temp_dir().join(format!("cartback-malformed-{port}.log"));
    let log = std::fs::File::create(&log_path).unwrap();
    let child = cartback_testing::process::command(
        "cartback-api",
        &[
            ("DATABASE_URL", db.url.clone()),
            ("CARTBACK_BIND", format!("127.0.0.1:{port}")),
            ("CARTBACK_LOG", "info".to_owned()),
        ],
        &[],
    )
    .stdout(std::process::Stdio::null())
    .stderr(log)
    .spawn()
    .unwrap();
    let mut api = cartback_testing::process::Running {
        child,
        name: "cartback-api".into(),
    };
    let http = reqwest::blocking::Client::new();
    wait_for("the api", Duration::from_secs(30), || {
        http.get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .is_ok_and(|r| r.status().is_success())
    });
    for garbage in [
        "GARBAGE\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
        "GET /\0 HTTP/1.1\r\n\r\n",
    ] {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(garbage.as_bytes()).unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 400"), "{garbage:?}: {answer}");
    }
    api.terminate();
    let logged = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    assert!(logged.contains("api listening"), "{logged}");
    assert!(!logged.contains("ERROR"), "{logged}");
}
