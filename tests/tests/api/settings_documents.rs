//! Writing settings never wipes what was not sent by accident (issue 18): a
//! PATCH is a JSON Merge Patch of the stored document (RFC 7396) and keeps
//! every field it leaves out; a PUT replaces the whole document, refusing one
//! without its required parts. Both answer the whole result. Against the real
//! api binary on SQLite and PostgreSQL.

use serde_json::{Value, json};

use cartback_store::Backend;
use cartback_testing::TestDatabase;
use cartback_testing::app::{Api, Tenant, create_tenant};
use cartback_testing::on_both_backends;
use cartback_testing::process::run;

struct Shop {
    _db: TestDatabase,
    api: Api,
    tenant: Tenant,
}

fn shop(backend: Backend) -> Shop {
    let db = TestDatabase::new(backend);
    let tenant = create_tenant(&db.url, "1h");
    let master_key = run("cartback", &[], &["keys", "generate-master"])
        .trim()
        .to_owned();
    let api = Api::start(
        &db.url,
        &[
            ("CARTBACK_AUTH_CACHE_TTL", "0".to_owned()),
            ("CARTBACK_MASTER_KEY", master_key),
        ],
    );
    Shop {
        _db: db,
        api,
        tenant,
    }
}

impl Shop {
    /// (status, answer) of a call with `content_type` on the body.
    fn send(&self, method: &str, path: &str, content_type: &str, body: &Value) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = self
            .api
            .http
            .request(method, format!("{}/api/v1{path}", self.api.base))
            .header("X-API-Key", &self.tenant.secret)
            .header("Content-Type", content_type)
            .body(body.to_string())
            .send()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    fn ok(&self, method: &str, path: &str, body: &Value) -> Value {
        let (status, answer) = self.send(method, path, "application/json", body);
        assert_eq!(status, 200, "{method} {path} {body}: {answer}");
        answer
    }

    fn refused(&self, method: &str, path: &str, body: &Value) -> Vec<String> {
        let (status, answer) = self.send(method, path, "application/json", body);
        assert_eq!(status, 422, "{method} {path} {body}: {answer}");
        assert_eq!(answer["error"]["code"], "VALIDATION_ERROR", "{answer}");
        answer["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap().to_owned())
            .collect()
    }

    fn stored(&self, path: &str) -> Value {
        let (status, answer) = self.api.v1("GET", path, &self.tenant.secret, None);
        assert_eq!(status, 200, "{answer}");
        answer
    }
}

/// The policy of the issue: three steps with coupons, one email per cart.
fn three_step_policy() -> Value {
    json!({
        "steps": [{"delayMs": 1_800_000}, {"delayMs": 43_200_000}, {"delayMs": 172_800_000}],
        "stepSettings": [
            {"template": "minimal", "coupon": {"kind": "static", "code": "STEP1"}},
            {"template": "product_grid", "coupon": {"kind": "static", "code": "STEP2"}},
            {"template": "bold_banner", "coupon": {"kind": "generated", "pattern": "SAVE10-{random}"}}
        ],
        "maxEmailsPerCart": 1,
        "quietHours": {"start": "22:00", "end": "08:00"},
        "timeZone": "UTC"
    })
}

fn recovery_patch_keeps_what_it_leaves_out(backend: Backend) {
    let shop = shop(backend);
    let saved = shop.ok(
        "PUT",
        "/settings/recovery",
        &json!({
            "policy": three_step_policy(),
            "email": {"design": "bold_banner", "brandColor": "#0f766e",
                      "copy": {"nl": [{"subject": "Je mandje"}], "de": [{"subject": "Dein Warenkorb"}]}}
        }),
    );
    let before = saved["policy"].clone();

    // The first case: one field of the policy, the rest kept, the
    // whole document answered (and stored: a GET shows the same).
    let changed = shop.ok(
        "PATCH",
        "/settings/recovery",
        &json!({"policy": {"timeZone": "Europe/Amsterdam"}}),
    );
    let mut expected = before.clone();
    expected["timeZone"] = json!("Europe/Amsterdam");
    assert_eq!(changed["policy"], expected, "{changed}");
    assert_eq!(changed["email"], saved["email"], "the email part stays");
    assert_eq!(changed["success"], true);
    let stored = shop.stored("/settings/recovery");
    assert_eq!(stored["policy"], changed["policy"]);
    assert_eq!(stored["email"], changed["email"]);

    // The second: new steps (an array replaces the stored one whole) leave
    // the cap at 1, the settings of each step and the quiet hours alone.
    let steps = json!([{"delayMs": 3_600_000}, {"delayMs": 7_200_000}, {"delayMs": 86_400_000}]);
    let changed = shop.ok(
        "PATCH",
        "/settings/recovery",
        &json!({"policy": {"steps": steps}}),
    );
    assert_eq!(changed["policy"]["steps"], steps);
    assert_eq!(changed["policy"]["maxEmailsPerCart"], 1);
    assert_eq!(changed["policy"]["stepSettings"], before["stepSettings"]);
    assert_eq!(changed["policy"]["quietHours"], before["quietHours"]);

    // null resets a member to its default: quiet hours off.
    let changed = shop.ok(
        "PATCH",
        "/settings/recovery",
        &json!({"policy": {"quietHours": null}}),
    );
    assert_eq!(changed["policy"]["quietHours"], Value::Null);
    assert_eq!(changed["policy"]["maxEmailsPerCart"], 1);

    // The email part merges the same way; `copy` merges per locale, and a
    // locale given as null goes. `application/merge-patch+json` is accepted.
    let (status, changed) = shop.send(
        "PATCH",
        "/settings/recovery",
        "application/merge-patch+json",
        &json!({"email": {"brandColor": "#112233", "copy": {"nl": [{"subject": "Nog even?"}], "de": null}}}),
    );
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["email"]["design"], "bold_banner");
    assert_eq!(changed["email"]["brandColor"], "#112233");
    assert_eq!(
        changed["email"]["copy"],
        json!({"nl": [{"subject": "Nog even?"}]})
    );
    assert_eq!(changed["policy"]["steps"], steps, "the policy stays");

    // A merged result that breaks a rule is refused with the field's path, and
    // nothing is stored: the expiry must follow the last step.
    let before = shop.stored("/settings/recovery");
    let fields = shop.refused(
        "PATCH",
        "/settings/recovery",
        &json!({"policy": {"expireAfterMs": 3_600_000}, "email": {"brandColor": "blue"}}),
    );
    assert_eq!(fields, ["policy.expireAfterMs", "email"]);
    assert_eq!(shop.stored("/settings/recovery"), before);
    // Unknown parts, parts that are not objects, and copy steps that are not.
    assert_eq!(
        shop.refused("PATCH", "/settings/recovery", &json!({"polcy": {}})),
        ["polcy"]
    );
    let mut fields = shop.refused(
        "PATCH",
        "/settings/recovery",
        &json!({"policy": "default", "email": [1]}),
    );
    fields.sort();
    assert_eq!(fields, ["email", "policy"]);
    assert_eq!(
        shop.refused(
            "PATCH",
            "/settings/recovery",
            &json!({"email": {"copy": {"nl": [7]}}})
        ),
        ["email.copy.nl[0]"]
    );
    let (status, _) = shop.send(
        "PATCH",
        "/settings/recovery",
        "application/json",
        &json!([]),
    );
    assert_eq!(status, 400);
    // An empty patch changes nothing; `"policy": null` resets the whole policy.
    assert_eq!(
        shop.ok("PATCH", "/settings/recovery", &json!({}))["policy"],
        before["policy"]
    );
    let reset = shop.ok("PATCH", "/settings/recovery", &json!({"policy": null}));
    assert_eq!(reset["policy"]["maxEmailsPerCart"], 3);
    assert_eq!(reset["policy"]["steps"].as_array().unwrap().len(), 3);
    assert_eq!(reset["email"], before["email"]);
}

on_both_backends!(recovery_patch_keeps_what_it_leaves_out);

fn recovery_put_replaces_the_whole_document(backend: Backend) {
    let shop = shop(backend);
    shop.ok(
        "PUT",
        "/settings/recovery",
        &json!({"policy": three_step_policy(), "email": {"design": "text_first"}}),
    );
    // A part left out is refused, not silently reset: the PUT of only
    // `policy.timeZone` no longer replaces anything.
    let before = shop.stored("/settings/recovery");
    assert_eq!(
        shop.refused(
            "PUT",
            "/settings/recovery",
            &json!({"policy": {"timeZone": "Europe/Amsterdam"}})
        ),
        ["email"]
    );
    assert_eq!(
        shop.refused("PUT", "/settings/recovery", &json!({})),
        ["policy", "email"]
    );
    assert_eq!(shop.stored("/settings/recovery"), before);

    // Inside a part, a field left out takes its default, as documented: the
    // steps and the cap go back to 1 h/24 h/72 h and 3, the design to minimal.
    let replaced = shop.ok(
        "PUT",
        "/settings/recovery",
        &json!({"policy": {"timeZone": "Europe/Amsterdam"}, "email": {}}),
    );
    assert_eq!(
        replaced["policy"]["steps"],
        json!([{"delayMs": 3_600_000}, {"delayMs": 86_400_000}, {"delayMs": 259_200_000}])
    );
    assert_eq!(replaced["policy"]["maxEmailsPerCart"], 3);
    assert_eq!(replaced["policy"]["stepSettings"], json!([]));
    assert_eq!(replaced["policy"]["timeZone"], "Europe/Amsterdam");
    assert_eq!(replaced["email"]["design"], "minimal");
    let stored = shop.stored("/settings/recovery");
    assert_eq!(stored["policy"], replaced["policy"]);
    assert_eq!(stored["email"], replaced["email"]);
}

on_both_backends!(recovery_put_replaces_the_whole_document);

fn shop_put_replaces_and_patch_merges(backend: Backend) {
    let shop = shop(backend);
    let patched = shop.ok(
        "PATCH",
        "/settings/shop",
        &json!({"replyTo": "help@shop.example", "fromName": "Sam"}),
    );
    assert_eq!(patched["shop"]["replyTo"], "help@shop.example");
    assert_eq!(patched["shop"]["name"], "Test shop", "left out: kept");
    let (status, patched) = shop.send(
        "PATCH",
        "/settings/shop",
        "application/merge-patch+json",
        &json!({"fromName": null}),
    );
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["shop"]["fromName"], Value::Null);
    assert_eq!(patched["shop"]["replyTo"], "help@shop.example");

    // A PUT needs every required field, names each one missing, stores nothing.
    let before = shop.stored("/settings/shop");
    assert_eq!(
        shop.refused("PUT", "/settings/shop", &json!({"name": "Renamed"})),
        ["fromEmail", "timeZone", "defaultCurrency", "defaultLocale"]
    );
    assert_eq!(shop.stored("/settings/shop"), before);
    // A whole one replaces everything: the optional fields it leaves out are
    // cleared.
    let replaced = shop.ok(
        "PUT",
        "/settings/shop",
        &json!({"name": "Renamed", "fromEmail": "sales@shop.example", "timeZone": "Europe/Berlin",
                "defaultCurrency": "EUR", "defaultLocale": "de"}),
    );
    let shown = &replaced["shop"];
    assert_eq!(shown["name"], "Renamed");
    assert_eq!(shown["fromEmail"], "sales@shop.example");
    assert_eq!(shown["replyTo"], Value::Null);
    assert_eq!(shown["recoveryUrl"], Value::Null);
    assert_eq!(shown["defaultCurrency"], "EUR");
    assert_eq!(shop.stored("/settings/shop")["shop"], replaced["shop"]);
}

on_both_backends!(shop_put_replaces_and_patch_merges);

fn stripe_put_replaces_and_patch_merges(backend: Backend) {
    let shop = shop(backend);
    shop.ok(
        "PUT",
        "/integrations/stripe",
        &json!({"secretKey": "sk_test_0123456789", "webhookSecrets": ["whsec_0123456789"],
                "successUrl": "https://shop.example/thanks", "linksInEmails": true}),
    );
    // A PATCH of one field keeps the key, the secrets and the rest.
    let (status, patched) = shop.send(
        "PATCH",
        "/integrations/stripe",
        "application/merge-patch+json",
        &json!({"cancelUrl": "https://shop.example/cart"}),
    );
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["cancelUrl"], "https://shop.example/cart");
    assert_eq!(patched["successUrl"], "https://shop.example/thanks");
    assert_eq!(patched["webhookSecrets"], 1);
    assert_eq!(patched["linksInEmails"], true);
    assert!(
        patched["secretKey"]
            .as_str()
            .unwrap()
            .starts_with("sk_test_"),
        "{patched}"
    );
    // null clears one field.
    let patched = shop.ok(
        "PATCH",
        "/integrations/stripe",
        &json!({"successUrl": null}),
    );
    assert_eq!(patched["successUrl"], Value::Null);
    assert_eq!(patched["webhookSecrets"], 1);
    // A PUT replaces them all: what it leaves out is cleared.
    let replaced = shop.ok(
        "PUT",
        "/integrations/stripe",
        &json!({"webhookSecrets": ["whsec_abcdefghij"]}),
    );
    assert_eq!(replaced["webhookSecrets"], 1);
    assert_eq!(replaced["secretKey"], Value::Null, "{replaced}");
    assert_eq!(replaced["cancelUrl"], Value::Null);
    assert_eq!(replaced["linksInEmails"], false);
    assert_eq!(shop.stored("/integrations/stripe"), replaced);
}

on_both_backends!(stripe_put_replaces_and_patch_merges);

fn webhook_endpoint_patch_takes_merge_patch(backend: Backend) {
    let shop = shop(backend);
    let (status, created) = shop.send(
        "POST",
        "/webhook-endpoints",
        "application/json",
        &json!({"url": "https://hooks.example.com/cartback", "events": ["*"], "description": "CRM"}),
    );
    assert_eq!(status, 201, "{created}");
    let path = format!("/webhook-endpoints/{}", created["id"].as_str().unwrap());
    let (status, changed) = shop.send(
        "PATCH",
        &path,
        "application/merge-patch+json",
        &json!({"description": null, "events": ["email.sent"]}),
    );
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["description"], Value::Null, "{changed}");
    assert_eq!(changed["events"], json!(["email.sent"]));
    assert_eq!(changed["url"], "https://hooks.example.com/cartback", "kept");
}

on_both_backends!(webhook_endpoint_patch_takes_merge_patch);
