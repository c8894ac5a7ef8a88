//! The documentation runs as written: every shell example in README.md and
//! docs/**/*.md is executed, file by file and in order, against a fresh
//! `cartback dev` started the way docs/api.md tells the reader to start it.
//!
//! The conventions (docs/api.md, "Running the examples"):
//! - a fence whose info string starts with `sh`, `bash`, `shell` or `console`
//!   is an example; it runs in one `bash` per file (`set -euo pipefail`), so a
//!   variable an example sets (`CART_ID=$(curl …)`) is there for the next one;
//! - the reader has `CARTBACK_URL` and `SECRET_KEY` from the dev banner, the
//!   binaries on `PATH`, and the working directory of `cartback dev`;
//! - every `curl` must answer 2xx (3xx for a redirect shown as such): the
//!   harness adds `--fail-with-body` to each call that has no `-f` of its own;
//! - an example that cannot run there (sudo, systemd, a deploy, the test suite)
//!   says so with `no-run` and a reason: ```` ```sh no-run: needs systemd ````;
//!   they are listed in the test's output, never skipped silently;
//! - a ```` ```json answer ```` fence right after an example is the answer of
//!   the example's last command: its keys (at every depth, arrays by their
//!   first element) must be exactly those of the real answer.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use cartback_testing::process::{Running, bin_path, free_port};

/// The checkout these tests belong to (this crate is `tests/` in it).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One fenced block of a markdown file.
#[derive(Debug, Clone)]
struct Fence {
    /// 1-based line of the opening fence.
    line: usize,
    /// The info string's first word (`sh`, `json`, …).
    lang: String,
    /// The rest of the info string (`no-run: reason`, `answer`).
    flags: String,
    body: String,
}

impl Fence {
    fn is_shell(&self) -> bool {
        matches!(self.lang.as_str(), "sh" | "bash" | "shell" | "console")
    }

    /// `Some(reason)` for an example marked `no-run`; an empty reason is
    /// refused by the test.
    fn no_run_reason(&self) -> Option<String> {
        let rest = self.flags.trim().strip_prefix("no-run")?;
        Some(rest.trim_start_matches(':').trim().to_owned())
    }

    fn is_answer(&self) -> bool {
        self.lang == "json" && self.flags.split_whitespace().any(|f| f == "answer")
    }

    /// The commands to run: a `console` block's lines after `$ ` (its other
    /// lines are output shown to the reader); any other shell block as it is.
    fn script(&self) -> String {
        if self.lang != "console" {
            return self.body.clone();
        }
        self.body
            .lines()
            .filter_map(|line| line.strip_prefix("$ "))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The fenced blocks of `markdown`, including indented ones (inside lists),
/// whose indentation is taken off their lines.
fn fences(markdown: &str) -> Vec<Fence> {
    let mut found = Vec::new();
    let mut open: Option<(usize, usize, String, String, Vec<String>)> = None;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match open.take() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let info = info.trim();
                    let (lang, flags) = info.split_once(' ').unwrap_or((info, ""));
                    open = Some((
                        index + 1,
                        indent,
                        lang.to_owned(),
                        flags.to_owned(),
                        Vec::new(),
                    ));
                }
            }
            Some((start, fence_indent, lang, flags, mut lines)) => {
                if trimmed.starts_with("```") && trimmed.trim_start_matches('`').trim().is_empty() {
                    found.push(Fence {
                        line: start,
                        lang,
                        flags,
                        body: lines.join("\n"),
                    });
                } else {
                    let strip = indent.min(fence_indent);
                    lines.push(line[strip..].to_owned());
                    open = Some((start, fence_indent, lang, flags, lines));
                }
            }
        }
    }
    assert!(open.is_none(), "a fence is never closed");
    found
}

/// README.md and every markdown file under docs/, in a stable order.
fn documentation_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, into: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, into);
            } else if path.extension().is_some_and(|x| x == "md") {
                into.push(path);
            }
        }
    }
    let root = workspace_root();
    let mut files = vec![root.join("README.md")];
    walk(&root.join("docs"), &mut files);
    files
}

/// A `cartback dev` as docs/api.md starts it, with what its banner printed.
struct Dev {
    _process: Running,
    workdir: tempfile::TempDir,
    url: String,
    secret_key: String,
}

fn binaries_dir() -> PathBuf {
    bin_path("cartback").parent().unwrap().to_path_buf()
}

/// `CARTBACK_MASTER_KEY=$(cartback keys generate-master) cartback dev --bind …`,
/// in a directory of its own (its `cartback.db` and `outbox/`), with `env` added.
fn start_dev(env: &[(&str, &str)]) -> Dev {
    let workdir = tempfile::tempdir().unwrap();
    let master_key = cartback_testing::process::run("cartback", &[], &["keys", "generate-master"]);
    let port = free_port();
    let mut child = Command::new(bin_path("cartback"))
        .arg("dev")
        .arg("--bind")
        .arg(format!("127.0.0.1:{port}"))
        .current_dir(workdir.path())
        .env_remove("DATABASE_URL")
        .env("CARTBACK_MASTER_KEY", master_key.trim())
        .env("CARTBACK_LOG", "warn")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(workdir.path().join("dev.log")).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let process = Running {
        child,
        name: "cartback dev".to_owned(),
    };
    let (found, banner) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut url = None;
        // Keep draining stdout after the banner, as a terminal would.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split_once("api on ").map(|(_, r)| r) {
                url = rest.split(',').next().map(str::to_owned);
            } else if let Some(key) = line.trim().strip_prefix("secret key") {
                let _ = found.send((url.take(), key.trim().to_owned()));
            }
        }
    });
    let (url, secret_key) = banner
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| {
            let log = std::fs::read_to_string(workdir.path().join("dev.log")).unwrap_or_default();
            panic!("cartback dev printed no banner within 60 s:\n{log}")
        });
    let url = url.expect("the banner names the api's URL before the key");
    assert_eq!(
        url,
        format!("http://127.0.0.1:{port}"),
        "dev derives its URL from --bind"
    );
    Dev {
        _process: process,
        workdir,
        url,
        secret_key,
    }
}

/// `curl` as the examples call it, but failing on any answer of 400 or more
/// (with the body, for the failure message) unless the example asked for
/// `-f` itself.
const PRELUDE: &str = r#"set -euo pipefail
curl() {
    local arg
    for arg in "$@"; do
        case $arg in
            --fail|--fail-with-body|-[!-]*f*) command curl "$@"; return ;;
        esac
    done
    command curl --fail-with-body "$@"
}
"#;

/// An example that ran (or was meant to), and where its output went.
struct Example {
    fence: Fence,
    stdout: PathBuf,
}

/// What running one file's examples found wrong, for the failure message.
fn run_file(file: &Path, runnable: &[(Fence, Option<Fence>)]) -> Vec<String> {
    let relative = file
        .strip_prefix(workspace_root())
        .unwrap_or(file)
        .display()
        .to_string();
    let dev = start_dev(&[]);
    let outputs = tempfile::tempdir().unwrap();
    let progress = outputs.path().join("progress");
    let mut script = PRELUDE.to_owned();
    let mut examples = Vec::new();
    for (number, (fence, _)) in runnable.iter().enumerate() {
        let stdout = outputs.path().join(format!("{number}.out"));
        script.push_str(&format!(
            "\n# {relative}:{line}\necho {number} > '{progress}'\n{{\n{body}\n}} > '{stdout}'\n",
            line = fence.line,
            progress = progress.display(),
            body = fence.script(),
            stdout = stdout.display(),
        ));
        examples.push(Example {
            fence: fence.clone(),
            stdout,
        });
    }
    script.push_str(&format!("echo done > '{}'\n", progress.display()));
    let path = format!(
        "{}:{}",
        binaries_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dev.workdir.path())
        .env_clear()
        .env("PATH", path)
        .env("HOME", dev.workdir.path())
        .env("LANG", "C.UTF-8")
        .env("CARTBACK_URL", &dev.url)
        .env("SECRET_KEY", &dev.secret_key)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let mut problems = Vec::new();
    // The examples that finished: all of them, or those before the failing one.
    let mut finished = examples.len();
    if !output.status.success() {
        let reached = std::fs::read_to_string(&progress).unwrap_or_default();
        let failing = reached.trim().parse::<usize>().ok();
        finished = failing.unwrap_or(0);
        let failed = failing.and_then(|n| examples.get(n));
        let (line, body, stdout) = match failed {
            Some(example) => (
                example.fence.line,
                example.fence.body.clone(),
                std::fs::read_to_string(&example.stdout).unwrap_or_default(),
            ),
            None => (0, String::new(), String::new()),
        };
        let log = std::fs::read_to_string(dev.workdir.path().join("dev.log")).unwrap_or_default();
        let log_tail: Vec<&str> = log
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        problems.push(format!(
            "{relative}:{line}: the example failed ({status}):\n{body}\n--- its output:\n{stdout}\n--- stderr:\n{stderr}\n--- cartback dev's last log lines:\n{log}",
            status = output.status,
            stderr = String::from_utf8_lossy(&output.stderr),
            log = log_tail.join("\n"),
        ));
    }
    for ((fence, answer), example) in runnable.iter().zip(&examples).take(finished) {
        let Some(answer) = answer else { continue };
        let stdout = std::fs::read_to_string(&example.stdout).unwrap_or_default();
        let Some(real) = last_json_value(&stdout) else {
            problems.push(format!(
                "{relative}:{}: the example before the answer at line {} printed no JSON: {stdout}",
                fence.line, answer.line
            ));
            continue;
        };
        let documented: Value = match serde_json::from_str(&answer.body) {
            Ok(value) => value,
            Err(error) => {
                problems.push(format!(
                    "{relative}:{}: a `json answer` must be valid JSON (write a real answer, no …): {error}",
                    answer.line
                ));
                continue;
            }
        };
        for mismatch in shape_mismatches(&documented, &real, "") {
            problems.push(format!(
                "{relative}:{}: the documented answer differs from the real one: {mismatch}\nreal answer: {real}",
                answer.line
            ));
        }
    }
    problems
}

/// The last JSON document in `text` (an example may print several).
fn last_json_value(text: &str) -> Option<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .map_while(Result::ok)
        .last()
        .or_else(|| {
            // Output that is not all JSON (a line of text, then JSON): try each
            // line from the end.
            text.lines()
                .rev()
                .find_map(|line| serde_json::from_str(line.trim()).ok())
        })
}

/// Where the key sets of `documented` and `real` differ: objects by their
/// keys, at every depth; arrays by their first elements.
fn shape_mismatches(documented: &Value, real: &Value, path: &str) -> Vec<String> {
    match (documented, real) {
        (Value::Object(doc), Value::Object(found)) => {
            let mut out = Vec::new();
            for key in doc.keys().filter(|k| !found.contains_key(*k)) {
                out.push(format!("{path}.{key} is documented but not in the answer"));
            }
            for key in found.keys().filter(|k| !doc.contains_key(*k)) {
                out.push(format!("{path}.{key} is in the answer but not documented"));
            }
            for (key, value) in doc {
                if let Some(other) = found.get(key) {
                    out.extend(shape_mismatches(value, other, &format!("{path}.{key}")));
                }
            }
            out
        }
        (Value::Array(doc), Value::Array(found)) => match (doc.first(), found.first()) {
            (Some(d), Some(f)) => shape_mismatches(d, f, &format!("{path}[0]")),
            _ => Vec::new(),
        },
        // A documented null may stand for any value the example had none of.
        (Value::Null, _) | (_, Value::Null) => Vec::new(),
        (Value::Object(_), _) | (Value::Array(_), _) => {
            vec![format!(
                "{path} is documented as {documented} but is {real}"
            )]
        }
        _ => Vec::new(),
    }
}

#[test]
fn every_shell_example_in_the_docs_runs_against_cartback_dev() {
    let mut problems = Vec::new();
    let mut not_run = Vec::new();
    let mut ran = 0;
    let mut answers = 0;
    for file in documentation_files() {
        let relative = file
            .strip_prefix(workspace_root())
            .unwrap_or(&file)
            .display()
            .to_string();
        let all = fences(&std::fs::read_to_string(&file).unwrap());
        let mut runnable: Vec<(Fence, Option<Fence>)> = Vec::new();
        for (index, fence) in all.iter().enumerate() {
            if fence.is_answer() {
                let before = index.checked_sub(1).map(|i| &all[i]);
                match before {
                    Some(example) if example.is_shell() && example.no_run_reason().is_none() => {
                        if let Some(last) = runnable.last_mut() {
                            last.1 = Some(fence.clone());
                        }
                    }
                    _ => problems.push(format!(
                        "{relative}:{}: a `json answer` must follow an example that runs",
                        fence.line
                    )),
                }
            }
            if !fence.is_shell() {
                continue;
            }
            match fence.no_run_reason() {
                Some(reason) if reason.is_empty() => problems.push(format!(
                    "{relative}:{}: `no-run` needs a reason (```sh no-run: why)",
                    fence.line
                )),
                Some(reason) => not_run.push(format!("{relative}:{} ({reason})", fence.line)),
                None => runnable.push((fence.clone(), None)),
            }
        }
        if runnable.is_empty() {
            continue;
        }
        ran += runnable.len();
        answers += runnable
            .iter()
            .filter(|(_, answer)| answer.is_some())
            .count();
        problems.extend(run_file(&file, &runnable));
    }
    eprintln!(
        "{ran} examples ran, {answers} answers compared; {} marked no-run:",
        not_run.len()
    );
    for entry in &not_run {
        eprintln!("  {entry}");
    }
    assert!(ran > 0, "no example found: the extraction is broken");
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn fences_are_extracted_with_their_info_and_indentation() {
    let markdown = "text\n```sh no-run: needs systemd\nsudo systemctl start x\n```\n\n  - item\n\n    ```bash\n    echo \"$CARTBACK_URL\"\n      indented\n    ```\n```json answer\n{\"a\": 1}\n```\n```console\n$ echo hi\nhi\n```\n";
    let found = fences(markdown);
    assert_eq!(found.len(), 4, "{found:?}");
    assert_eq!(found[0].line, 2);
    assert_eq!(found[0].no_run_reason().as_deref(), Some("needs systemd"));
    assert_eq!(found[1].lang, "bash");
    assert_eq!(found[1].body, "echo \"$CARTBACK_URL\"\n  indented");
    assert!(found[1].no_run_reason().is_none());
    assert!(found[2].is_answer());
    assert_eq!(found[3].script(), "echo hi");
}

#[test]
fn shapes_compare_keys_at_every_depth() {
    let documented = serde_json::json!({"success": true, "data": [{"id": "cart_1", "items": [{"id": "a"}]}], "extra": 1});
    let real = serde_json::json!({"success": true, "data": [{"id": "cart_2", "items": [{"id": "b", "price": 1}]}, {"id": "x"}], "page": 1});
    let mismatches = shape_mismatches(&documented, &real, "");
    assert_eq!(
        mismatches,
        vec![
            ".extra is documented but not in the answer".to_owned(),
            ".page is in the answer but not documented".to_owned(),
            ".data[0].items[0].price is in the answer but not documented".to_owned(),
        ]
    );
    assert!(shape_mismatches(&real, &real, "").is_empty());
    assert_eq!(
        last_json_value("{\"a\":1}\n{\"b\":2}\n"),
        Some(serde_json::json!({"b": 2}))
    );
    assert_eq!(
        last_json_value("saved\n{\"b\":2}"),
        Some(serde_json::json!({"b": 2}))
    );
}

/// The text of an `.eml` with quoted-printable soft breaks and `=3D` undone,
/// enough to find the links in it.
fn eml_text(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

/// The token after the first `marker` (`/r/`, `/u/`) in `text`.
fn token_after(text: &str, marker: &str) -> String {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} link in the email"));
    text[start + marker.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

fn outbox_emails(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The event examples of docs/webhooks.md are real deliveries' shapes, and its
/// verification snippet accepts a real delivery and refuses a forged one. A
/// `cartback dev` with a receiver on loopback drives one cart through every
/// event a test can cause without a failing provider.
#[test]
fn webhook_examples_match_real_deliveries_and_the_node_snippet_verifies_them() {
    use cartback_testing::http_stub::HttpStub;
    use cartback_testing::process::wait_for;

    let receiver = HttpStub::start();
    // A first email a second after the cart's last change, and the receiver on
    // loopback allowed.
    let dev = start_dev(&[
        ("CARTBACK_ALLOW_PRIVATE_TARGETS", "true"),
        ("CARTBACK_DEMO_DELAY", "1s"),
        ("CARTBACK_POLL_INTERVAL", "50ms"),
    ]);
    let (base, secret_key) = (dev.url.clone(), dev.secret_key.clone());
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let call = |method: reqwest::Method, path: &str, body: Value| -> Value {
        let response = http
            .request(method, format!("{base}{path}"))
            .header("X-API-Key", &secret_key)
            .json(&body)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().unwrap();
        assert!((200..300).contains(&status), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    };
    let endpoint = call(
        reqwest::Method::POST,
        "/api/v1/webhook-endpoints",
        serde_json::json!({"url": format!("{}/hooks", receiver.base_url), "events": ["*"]}),
    );
    let webhook_secret = endpoint["secret"].as_str().unwrap().to_owned();
    let track = |body: Value| call(reqwest::Method::POST, "/api/v1/track", body);
    let cart = |session: &str, email: Option<&str>| {
        serde_json::json!({"event": "CART_UPDATE", "sessionId": session, "customerEmail": email,
            "customerName": email.map(|_| "Sam"), "locale": "en-US", "currency": "USD",
            "items": [{"id": "sku_1", "name": "Blue mug", "price": 12.50, "quantity": 2}], "total": 25.00})
    };
    let events = || -> Vec<(Value, cartback_testing::http_stub::Recorded)> {
        receiver
            .requests()
            .into_iter()
            .map(|r| (serde_json::from_slice(&r.body).unwrap(), r))
            .collect()
    };
    let has = |event: &str, session: &str| {
        events()
            .iter()
            .any(|(body, _)| body["event"] == event && body["data"]["sessionId"] == session)
    };
    let outbox = dev.workdir.path().join("outbox");

    // Recovered: abandoned, an email, its link clicked, then an order.
    track(cart("sess_91f", Some("sam@example.com")));
    wait_for("email.sent", Duration::from_secs(60), || {
        has("email.sent", "sess_91f")
    });
    let email = eml_text(&outbox_emails(&outbox)[0]);
    let click = http
        .get(format!("{base}/r/{}", token_after(&email, "/r/")))
        .send()
        .unwrap();
    assert_eq!(click.status().as_u16(), 302);
    wait_for("email.clicked", Duration::from_secs(30), || {
        has("email.clicked", "sess_91f")
    });
    track(
        serde_json::json!({"event": "ORDER_COMPLETE", "sessionId": "sess_91f", "orderId": "INV-1042", "total": 25.00}),
    );
    wait_for("cart.recovered", Duration::from_secs(30), || {
        has("cart.recovered", "sess_91f")
    });

    // Converted: an order before any email.
    track(cart("sess_77", Some("kim@example.com")));
    track(
        serde_json::json!({"event": "ORDER_COMPLETE", "sessionId": "sess_77", "orderId": "INV-1043", "total": 25.00}),
    );
    wait_for("cart.converted", Duration::from_secs(30), || {
        has("cart.converted", "sess_77")
    });

    // Unsubscribed: one click on the email's unsubscribe link.
    track(cart("sess_4k2", Some("lee@example.com")));
    wait_for("email.sent", Duration::from_secs(60), || {
        has("email.sent", "sess_4k2")
    });
    let email = outbox_emails(&outbox)
        .iter()
        .map(|p| eml_text(p))
        .find(|text| text.contains("lee@example.com"))
        .unwrap();
    let unsubscribe = http
        .post(format!("{base}/u/{}", token_after(&email, "/u/")))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .unwrap();
    assert_eq!(unsubscribe.status().as_u16(), 200);
    wait_for("cart.unsubscribed", Duration::from_secs(30), || {
        has("cart.unsubscribed", "sess_4k2")
    });

    // Expired: a cart with no address under a policy whose carts expire fast.
    call(
        reqwest::Method::PATCH,
        "/api/v1/settings/recovery",
        serde_json::json!({"policy": {"steps": [{"delayMs": 1000}], "expireAfterMs": 2000}}),
    );
    track(cart("sess_x9", None));
    wait_for("cart.expired", Duration::from_secs(60), || {
        has("cart.expired", "sess_x9")
    });

    let real = events();
    if std::env::var_os("CARTBACK_PRINT_WEBHOOKS").is_some() {
        for (body, _) in &real {
            eprintln!("{body}");
        }
    }
    // A cart that gets an email and one that gets none are announced alike:
    // already abandoned, with the time it became so.
    let abandoned: Vec<&Value> = real
        .iter()
        .map(|(body, _)| body)
        .filter(|body| body["event"] == "cart.abandoned")
        .collect();
    assert_eq!(
        abandoned.len(),
        3,
        "sess_91f, sess_4k2 and sess_x9: {abandoned:?}"
    );
    for body in abandoned {
        assert_eq!(body["data"]["status"], "abandoned", "{body}");
        assert_eq!(body["data"]["abandonedAt"], body["timestamp"], "{body}");
    }
    let markdown = std::fs::read_to_string(workspace_root().join("docs/webhooks.md")).unwrap();
    let mut problems = Vec::new();
    let mut compared = Vec::new();
    for fence in fences(&markdown).into_iter().filter(|f| f.lang == "json") {
        let Ok(documented) = serde_json::from_str::<Value>(&fence.body) else {
            problems.push(format!(
                "docs/webhooks.md:{}: an event example must be valid JSON (a real payload, no …)",
                fence.line
            ));
            continue;
        };
        let Some(event) = documented["event"].as_str() else {
            continue;
        };
        // A failing send needs a provider that refuses it: its example is
        // checked against the email.sent payload plus its own `error`.
        let (wanted, adjust) = match event {
            "email.failed" => ("email.sent", true),
            other => (other, false),
        };
        let Some((payload, _)) = real.iter().find(|(body, _)| body["event"] == wanted) else {
            problems.push(format!(
                "docs/webhooks.md:{}: no real {wanted} delivery to compare with",
                fence.line
            ));
            continue;
        };
        let mut payload = payload.clone();
        if adjust {
            let data = payload["data"].as_object_mut().unwrap();
            data.remove("provider");
            data.insert("error".to_owned(), Value::String("…".to_owned()));
            payload["event"] = Value::String("email.failed".to_owned());
        }
        compared.push(event.to_owned());
        for mismatch in shape_mismatches(&documented, &payload, "") {
            problems.push(format!(
                "docs/webhooks.md:{}: {event}: {mismatch}\nreal payload: {payload}",
                fence.line
            ));
        }
        let status = documented["data"]["status"].as_str();
        if !adjust && status != payload["data"]["status"].as_str() {
            problems.push(format!(
                "docs/webhooks.md:{}: {event} shows the cart's status as {status:?}, a real delivery as {}",
                fence.line, payload["data"]["status"]
            ));
        }
        let id = documented["data"]["cartId"].as_str().unwrap_or("cart_");
        assert!(
            id.starts_with("cart_"),
            "docs/webhooks.md:{}: cart ids read cart_…, not {id}",
            fence.line
        );
    }
    for event in [
        "cart.abandoned",
        "email.sent",
        "email.failed",
        "email.clicked",
        "cart.recovered",
        "cart.converted",
        "cart.unsubscribed",
        "cart.expired",
    ] {
        assert!(
            compared.iter().any(|e| e == event),
            "docs/webhooks.md shows no {event} example"
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));

    // The Node snippet, as printed, on a real delivery and on forged ones.
    let snippet = fences(&markdown)
        .into_iter()
        .find(|f| f.lang == "js")
        .expect("docs/webhooks.md has a Node snippet")
        .body;
    let (_, delivery) = real.last().unwrap();
    let headers: serde_json::Map<String, Value> = delivery
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let check = format!(
        "{snippet}\n\
         const secret = {secret};\n\
         const headers = {headers};\n\
         const body = Buffer.from({body});\n\
         const forged = Buffer.from({body}.replace('25', '99'));\n\
         const results = [\n\
           verifyRetakeSignature(secret, body, headers['x-webhook-signature']),\n\
           verifyStandardSignature(secret, headers, body),\n\
           !verifyRetakeSignature(secret, forged, headers['x-webhook-signature']),\n\
           !verifyStandardSignature(secret, headers, forged),\n\
           !verifyRetakeSignature(secret, body, 'sha256=short'),\n\
           !verifyRetakeSignature(secret, body, undefined),\n\
           !verifyStandardSignature(secret, {{...headers, 'webhook-signature': 'v1,short'}}, body),\n\
         ];\n\
         console.log(JSON.stringify(results));\n\
         process.exit(results.every(Boolean) ? 0 : 1);\n",
        secret = Value::String(webhook_secret),
        headers = Value::Object(headers),
        body = Value::String(String::from_utf8(delivery.body.clone()).unwrap()),
    );
    let output = Command::new("node").arg("-e").arg(&check).output().unwrap();
    assert!(
        output.status.success(),
        "the Node snippet of docs/webhooks.md: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
