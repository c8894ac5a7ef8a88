//! A local AWS endpoint for tests: moto's server mode, installed into
//! `.tools/moto` by `scripts/test-deps.sh`.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::process::{Running, free_port, wait_for};

pub struct Moto {
    pub endpoint: String,
    _process: Running,
}

impl Moto {
    pub fn start() -> Moto {
        let bin = crate::workspace_root().join(".tools/moto/bin/moto_server");
        assert!(
            bin.exists(),
            "moto is not installed at {}: run scripts/test-deps.sh",
            bin.display()
        );
        let port = free_port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn moto_server");
        let moto = Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            _process: Running {
                child,
                name: "moto_server".to_owned(),
            },
        };
        wait_for("moto to listen", Duration::from_secs(60), || {
            moto.try_data().is_some()
        });
        moto
    }

    fn try_data(&self) -> Option<Value> {
        reqwest::blocking::get(format!("{}/moto-api/data.json", self.endpoint))
            .ok()?
            .json()
            .ok()
    }

    /// Verifies a sender the way an operator would (SES v2 CreateEmailIdentity).
    pub fn verify_identity(&self, email: &str) {
        let response = reqwest::blocking::Client::new()
            .post(format!("{}/v2/email/identities", self.endpoint))
            // moto reads the region from the credential scope; it checks no signature.
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/ses/aws4_request, \
                 SignedHeaders=host, Signature=0",
            )
            .json(&serde_json::json!({ "EmailIdentity": email }))
            .send()
            .expect("moto CreateEmailIdentity");
        assert!(
            response.status().is_success(),
            "CreateEmailIdentity: {}",
            response.status()
        );
    }

    /// The raw MIME of every message SES accepted.
    pub fn sent_raw_messages(&self) -> Vec<String> {
        let data = self.try_data().expect("moto data.json");
        data["ses"]["RawMessage"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|m| m["raw_data"].as_str().map(str::to_owned))
            .collect()
    }
}
