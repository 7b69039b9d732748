//! The audit trail (`TREKMAIL_AUDIT_LOG`): a line per write attempted and per refusal, with
//! typed outcomes; a write the trail cannot record is refused and nothing is sent; no secret in
//! any line; reopened on SIGHUP. Over HTTP: see `tests/http.rs`
//! (`caller_mode_audit_lines_name_the_caller_by_an_hmac_only`).
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use support::stdio::{Logs, Peer};
use support::{Harness, MSG_TOKEN, OPS_TOKEN, Opts, is_error, text};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use trekmail_mcp::call::human::Human;
use trekmail_mcp::call::trace::TraceContext;
use wiremock::matchers::{any, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// A fresh directory under the system's temporary directory.
fn scratch(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("trekmail-audit-{what}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

async fn audited(opts: Opts, log: &Path) -> Harness {
    let mut opts = opts;
    opts.extra
        .push(("TREKMAIL_AUDIT_LOG", log.display().to_string()));
    Harness::start(opts).await
}

/// Every secret a call may carry, none of which a line may hold.
const SECRETS: [&str; 4] = [
    OPS_TOKEN,
    MSG_TOKEN,
    "Sup3rSecretPassw0rd",
    "BODY-TEXT-NEVER-LOGGED",
];

fn assert_no_secret(path: &Path) {
    let all = std::fs::read_to_string(path).unwrap();
    for s in SECRETS {
        assert!(!all.contains(s), "{s} in the audit log:\n{all}");
    }
}

#[tokio::test]
async fn writes_are_recorded_before_and_after_and_reads_are_not() {
    let dir = scratch("writes");
    let log = dir.join("audit.log");
    let h = audited(Opts::default(), &log).await;
    h.answer_json(200, json!({"data": {"id": 7, "note": "x"}}))
        .await;
    let r = h
        .call("update_mailbox_note", json!({"mailbox_id": 7, "note": "x"}))
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    // A read leaves no line.
    h.call("get_domain", json!({"domain_id": 7})).await;
    let sent = h.requests().await;
    h.answer_json(422, json!({"error": {"code": "invalid", "message": "no"}}))
        .await;
    h.call("update_mailbox_note", json!({"mailbox_id": 8, "note": "y"}))
        .await;

    let l = lines(&log);
    assert_eq!(l.len(), 4, "{l:#?}");
    let request_id = sent[0].headers["x-request-id"].to_str().unwrap();
    let key = sent[0].headers["idempotency-key"].to_str().unwrap();
    for (line, outcome) in [(&l[0], "attempted"), (&l[1], "sent")] {
        assert_eq!(line["tool"], "update_mailbox_note");
        assert_eq!(line["target"], json!({"mailbox_id": 7}));
        assert_eq!(line["outcome"], outcome);
        assert_eq!(line["request_id"], request_id, "{line}");
        assert_eq!(line["idempotency_key"], key, "{line}");
        assert_eq!(line["approval"], "not_guarded");
        assert_eq!(line["confirmed"], false);
        assert!(
            line.get("caller").is_none(),
            "operator mode names no caller"
        );
        assert!(line["time"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(l[1]["status"], 200);
    assert_eq!(l[3]["outcome"], "sent");
    assert_eq!(l[3]["status"], 422);
    assert_eq!(l[3]["target"], json!({"mailbox_id": 8}));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn refusals_name_their_rule_and_no_line_holds_a_secret() {
    let dir = scratch("refusals");
    let log = dir.join("audit.log");
    let h = audited(Opts::default(), &log).await;
    h.answer_json(200, json!({"data": {}})).await;
    // The destructive switch is off.
    let r = h
        .call(
            "change_mailbox_password",
            json!({"mailbox_id": 3, "password": "Sup3rSecretPassw0rd"}),
        )
        .await;
    assert!(is_error(&r));
    // The sending switch is off.
    h.call(
        "send_message",
        json!({"to": ["a@example.com"], "subject": "s", "body_text": "BODY-TEXT-NEVER-LOGGED", "confirm_send": true}),
    )
    .await;
    // Invalid arguments.
    h.call(
        "update_mailbox_note",
        json!({"mailbox_id": "seven", "note": 1}),
    )
    .await;
    // Not listed.
    assert!(h.try_call("no_such_tool", json!({})).await.is_err());
    assert!(h.requests().await.is_empty(), "nothing was sent");

    let l = lines(&log);
    let rules: Vec<(&str, &str)> = l
        .iter()
        .map(|x| (x["tool"].as_str().unwrap(), x["rule"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rules,
        [
            ("change_mailbox_password", "safety_gate"),
            ("send_message", "safety_gate"),
            ("update_mailbox_note", "invalid_arguments"),
            ("(unknown)", "tool_not_listed"),
        ]
    );
    assert!(l.iter().all(|x| x["outcome"] == "refused"));
    assert_eq!(l[0]["target"], json!({"mailbox_id": 3}));
    assert_no_secret(&log);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn approvals_and_secrets_of_sent_writes() {
    let dir = scratch("approvals");
    let log = dir.join("audit.log");
    let h = audited(Opts::all_gates(), &log).await;
    h.answer_json(200, json!({"data": {"ok": true}})).await;
    // Without its confirmation argument: refused by that rule.
    h.call(
        "delete_domain",
        json!({"domain_id": 5, "confirm_delete": false}),
    )
    .await;
    h.call(
        "delete_domain",
        json!({"domain_id": 5, "confirm_delete": true}),
    )
    .await;
    h.call(
        "change_mailbox_password",
        json!({"mailbox_id": 3, "password": "Sup3rSecretPassw0rd"}),
    )
    .await;
    h.call(
        "send_message",
        json!({"to": ["a@example.com"], "subject": "s", "body_text": "BODY-TEXT-NEVER-LOGGED", "confirm_send": true}),
    )
    .await;
    let l = lines(&log);
    let seen: Vec<(&str, &str, &Value, bool)> = l
        .iter()
        .map(|x| {
            (
                x["tool"].as_str().unwrap(),
                x["outcome"].as_str().unwrap(),
                &x["approval"],
                x["confirmed"].as_bool().unwrap(),
            )
        })
        .collect();
    // This client cannot ask its user (TREKMAIL_HUMAN_CONFIRM=auto): the switch and the
    // confirmation argument sufficed, and the trail says so.
    let cannot = json!("client_cannot_ask");
    assert_eq!(
        seen,
        [
            ("delete_domain", "refused", &Value::Null, false),
            ("delete_domain", "attempted", &cannot, true),
            ("delete_domain", "sent", &cannot, true),
            ("change_mailbox_password", "attempted", &cannot, false),
            ("change_mailbox_password", "sent", &cannot, false),
            ("send_message", "attempted", &cannot, true),
            ("send_message", "sent", &cannot, true),
        ]
    );
    assert_eq!(l[0]["rule"], "confirmation_argument");
    assert_eq!(h.requests().await.len(), 3);
    assert_no_secret(&log);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_write_that_gets_no_answer_is_recorded_as_failed() {
    let dir = scratch("failed");
    let log = dir.join("audit.log");
    // Nothing listens on a port just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut opts = Opts::default();
    opts.extra
        .push(("TREKMAIL_AUDIT_LOG", log.display().to_string()));
    let (policy, _) = support::recording_policy();
    let server = Harness::server_for(&base, &opts, policy);
    let r = server
        .call(
            "update_mailbox_note",
            json!({"mailbox_id": 7, "note": "x"}).as_object().cloned(),
        )
        .await
        .unwrap();
    assert!(is_error(&r));
    let l = lines(&log);
    assert_eq!(l.len(), 2, "{l:#?}");
    assert_eq!(l[0]["outcome"], "attempted");
    assert_eq!(l[1]["outcome"], "failed");
    assert_eq!(l[1]["failure"], "connect");
    assert_eq!(l[0]["request_id"], l[1]["request_id"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_write_the_log_cannot_record_is_refused_and_nothing_is_sent() {
    // /dev/full opens, and every write to it fails (no space).
    let h = audited(Opts::default(), Path::new("/dev/full")).await;
    h.answer_json(200, json!({"data": {"id": 7}})).await;
    let r = h
        .call("update_mailbox_note", json!({"mailbox_id": 7, "note": "x"}))
        .await;
    assert!(is_error(&r));
    assert!(text(&r).contains("TREKMAIL_AUDIT_LOG"), "{}", text(&r));
    assert!(h.requests().await.is_empty(), "nothing was sent");
    // Reads are not recorded, so they go on.
    let r = h.call("get_domain", json!({"domain_id": 7})).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(h.requests().await.len(), 1);
}

#[tokio::test]
async fn a_log_that_cannot_be_reopened_refuses_writes_until_it_can() {
    let dir = scratch("reopen");
    let sub = dir.join("logs");
    std::fs::create_dir_all(&sub).unwrap();
    let log = sub.join("audit.log");
    let h = audited(Opts::default(), &log).await;
    h.answer_json(200, json!({"data": {"id": 7}})).await;
    let args = json!({"mailbox_id": 7, "note": "x"});
    assert!(!is_error(
        &h.call("update_mailbox_note", args.clone()).await
    ));
    // The directory goes away: the reopen fails and the trail is closed.
    std::fs::rename(&sub, dir.join("moved")).unwrap();
    let trail = h.server.audit_log().unwrap();
    trail.reopen();
    let r = h.call("update_mailbox_note", args.clone()).await;
    assert!(
        is_error(&r) && text(&r).contains("audit log"),
        "{}",
        text(&r)
    );
    assert_eq!(h.requests().await.len(), 1, "the second write was not sent");
    // Back in place: writes go on after the next reopen.
    std::fs::create_dir_all(&sub).unwrap();
    trail.reopen();
    assert!(!is_error(
        &h.call("update_mailbox_note", json!({"mailbox_id": 7, "note": "z"}))
            .await
    ));
    assert_eq!(h.requests().await.len(), 2);
    assert_eq!(lines(&log).len(), 2);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_audit_log_that_cannot_be_opened_stops_the_start() {
    let dir = scratch("unopenable");
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let mut opts = Opts::default();
    // A path under a regular file cannot be created.
    let bad = file.join("audit.log");
    opts.extra
        .push(("TREKMAIL_AUDIT_LOG", bad.display().to_string()));
    let config = support::config("http://127.0.0.1:9", &opts).unwrap();
    let err =
        trekmail_mcp::TrekmailServer::new(&config, trekmail_mcp::Catalog::embedded().unwrap())
            .err()
            .unwrap();
    assert!(err.contains("TREKMAIL_AUDIT_LOG"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn the_trace_context_reaches_the_api_exactly_and_the_audit_line() {
    let dir = scratch("trace");
    let log = dir.join("audit.log");
    let h = audited(Opts::default(), &log).await;
    h.answer_json(200, json!({"data": {"id": 7}})).await;
    let args = json!({"mailbox_id": 7, "note": "x"}).as_object().cloned();
    let state = "vendor=opaque-value,other=1";
    let trace = TraceContext::parse(Some(TRACEPARENT), Some(state));
    h.server
        .call_with(
            "update_mailbox_note",
            args.clone(),
            &Human::Unreachable,
            None,
            trace.as_ref(),
        )
        .await
        .unwrap();
    // A malformed one is not passed on.
    let bad = TraceContext::parse(
        Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"),
        Some(state),
    );
    assert!(bad.is_none());
    h.server
        .call_with(
            "update_mailbox_note",
            args,
            &Human::Unreachable,
            None,
            bad.as_ref(),
        )
        .await
        .unwrap();
    let sent = h.requests().await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].headers["traceparent"], TRACEPARENT);
    assert_eq!(sent[0].headers["tracestate"], state);
    assert_eq!(sent[0].headers.get_all("traceparent").iter().count(), 1);
    assert!(sent[1].headers.get("traceparent").is_none());
    assert!(sent[1].headers.get("tracestate").is_none());
    let l = lines(&log);
    assert_eq!(l[0]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(l[1]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert!(l[2].get("trace_id").is_none());
    std::fs::remove_dir_all(dir).unwrap();
}

/// The binary over stdio: the `traceparent` of a request's `_meta` reaches the API and the
/// call's log lines; after the log file is moved away and SIGHUP sent, the next line goes to a
/// new file at the path.
#[tokio::test]
async fn over_stdio_meta_traceparent_goes_on_and_sighup_reopens_the_log() {
    let dir = scratch("stdio");
    let log = dir.join("audit.log");
    let mock = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"id": 7}})))
        .mount(&mock)
        .await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_trekmail-mcp"))
        .env_clear()
        .env("TREKMAIL_BASE_URL", mock.uri())
        .env("TREKMAIL_API_TOKEN", OPS_TOKEN)
        .env("TREKMAIL_SCOPE_AWARE", "false")
        .env("TREKMAIL_LOG", "info")
        .env("TREKMAIL_AUDIT_LOG", &log)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr = child.stderr.take().unwrap();
    let mut send = async |msg: Value| {
        stdin
            .write_all(format!("{msg}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
    };
    send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "audit", "version": "1"}}})).await;
    let mut recv = async || {
        let line = tokio::time::timeout(Duration::from_secs(20), stdout.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        serde_json::from_str::<Value>(&line).unwrap()
    };
    recv().await;
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    let call = |id: u64, mailbox: u64| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
            "name": "update_mailbox_note",
            "arguments": {"mailbox_id": mailbox, "note": "x"},
            "_meta": {"traceparent": TRACEPARENT, "tracestate": "k=v"}
        }})
    };
    send(call(2, 1)).await;
    let r = recv().await;
    assert_eq!(r["result"]["isError"], false, "{r}");
    // Rotation: the file is moved away, then SIGHUP.
    std::fs::rename(&log, dir.join("audit.log.1")).unwrap();
    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    // The reopen (on the server's runtime) creates the file at the path again.
    for _ in 0..200 {
        if log.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(log.exists(), "SIGHUP did not reopen the log");
    send(call(3, 2)).await;
    let r = recv().await;
    assert_eq!(r["result"]["isError"], false, "{r}");
    drop(stdin);
    tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    let old = lines(&dir.join("audit.log.1"));
    assert_eq!(old.len(), 2, "{old:#?}");
    assert_eq!(old[0]["target"], json!({"mailbox_id": 1}));
    assert_eq!(old[0]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    let new = lines(&log);
    assert_eq!(new.len(), 2, "{new:#?}");
    assert_eq!(new[0]["target"], json!({"mailbox_id": 2}));
    let sent = mock.received_requests().await.unwrap();
    assert_eq!(sent[0].headers["traceparent"], TRACEPARENT);
    assert_eq!(sent[0].headers["tracestate"], "k=v");
    let mut logs = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut logs)
        .await
        .unwrap();
    let calling: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("calling the API"))
        .collect();
    assert!(!calling.is_empty(), "{logs}");
    for l in calling {
        assert!(
            l.contains("trace_id=4bf92f3577b34da6a3ce929d0e0e4736"),
            "{l}"
        );
    }
    assert!(!logs.contains(OPS_TOKEN));
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Flows: an upload, a payment

/// An upload is one write of several requests: `attempted` before the first, then `flow` with
/// `completed`. Both lines name the `X-Request-Id` every API request of the flow carried and the
/// key stem its requests extend; no line holds the file's bytes, its name or the local path.
#[tokio::test]
async fn an_upload_is_one_flow_line_completed_or_not_naming_its_requests() {
    let dir = scratch("upload");
    let up = dir.join("up");
    std::fs::create_dir_all(&up).unwrap();
    std::fs::write(up.join("q3-report.pdf"), "UPLOAD-BYTES-NEVER-LOGGED").unwrap();
    let log = dir.join("audit.log");
    let mut opts = Opts::default();
    opts.extra
        .push(("TREKMAIL_UPLOAD_DIR", up.display().to_string()));
    let h = audited(opts, &log).await;
    let initiate = "/api/v1/drive/spaces/account/uploads:initiate";
    let mount = async |m: &str, p: &str, r: ResponseTemplate| {
        Mock::given(method(m))
            .and(path(p))
            .respond_with(r)
            .mount(&h.mock)
            .await;
    };
    let answer = |status: u16, v: Value| ResponseTemplate::new(status).set_body_json(v);
    let storage = format!("{}/_storage/3", h.mock.uri());
    mount(
        "POST",
        initiate,
        answer(
            201,
            json!({"data": {"file_id": 3, "multipart": false, "upload_url": storage, "parts": []}}),
        ),
    )
    .await;
    mount("PUT", "/_storage/3", ResponseTemplate::new(200)).await;
    let complete = json!({"data": {"id": 3, "status": "active"}});
    mount(
        "POST",
        "/api/v1/drive/uploads/3:complete",
        answer(200, complete),
    )
    .await;
    let args = json!({"space": "account", "local_path": "q3-report.pdf"});
    let r = h.call("drive_file_upload", args.clone()).await;
    assert!(!is_error(&r), "{}", text(&r));
    let sent = h.requests().await;
    // The API refuses the next upload at its first step.
    h.mock.reset().await;
    mount(
        "POST",
        initiate,
        answer(
            422,
            json!({"error": {"code": "quota", "message": "Drive is full"}}),
        ),
    )
    .await;
    std::fs::write(
        up.join("q3-report.pdf"),
        "UPLOAD-BYTES-NEVER-LOGGED, changed",
    )
    .unwrap();
    let r = h.call("drive_file_upload", args).await;
    assert!(is_error(&r), "{}", text(&r));
    let refused = h.requests().await;

    let l = lines(&log);
    let seen: Vec<(&Value, &Value)> = l.iter().map(|x| (&x["outcome"], &x["completed"])).collect();
    assert_eq!(
        seen,
        [
            (&json!("attempted"), &Value::Null),
            (&json!("flow"), &json!(true)),
            (&json!("attempted"), &Value::Null),
            (&json!("flow"), &json!(false)),
        ],
        "{l:#?}"
    );
    let header = |r: &wiremock::Request, h: &str| r.headers[h].to_str().unwrap().to_owned();
    let api: Vec<&wiremock::Request> = sent
        .iter()
        .filter(|r| r.url.path().starts_with("/api/"))
        .collect();
    assert_eq!(api.len(), 2, "initiate and complete");
    for line in &l[..2] {
        assert_eq!(line["tool"], "drive_file_upload");
        assert_eq!(line["target"], json!({"space": "account"}));
        // Guarded by TREKMAIL_UPLOAD_DIR (its gate); this client cannot ask its user.
        assert_eq!(line["approval"], "client_cannot_ask");
        for r in &api {
            assert_eq!(line["request_id"], header(r, "x-request-id"), "{line}");
            let key = header(r, "idempotency-key");
            let stem = line["idempotency_key"].as_str().unwrap();
            assert!(key.starts_with(&format!("{stem}_")), "{key} {line}");
        }
    }
    assert_eq!(l[2]["request_id"], header(&refused[0], "x-request-id"));
    assert_ne!(l[0]["request_id"], l[2]["request_id"]);
    let all = std::fs::read_to_string(&log).unwrap();
    for never in ["UPLOAD-BYTES", "q3-report", up.to_str().unwrap()] {
        assert!(!all.contains(never), "{never} in the audit log:\n{all}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

const PAY_TOOL: &str = "agent_buy_verifier_credits";
const PAY_PATH: &str = "/api/v1/agent/verifier-credits/topup";
const CREDENTIAL: &str = "spt_live_SECRETcredential42";

/// The API: 402 with a price for a request without a credential, `paid` for one with it.
async fn shop(h: &Harness, paid: ResponseTemplate) {
    h.mock.reset().await;
    Mock::given(method("POST"))
        .and(path(PAY_PATH))
        .and(header_exists("payment-authorization"))
        .respond_with(paid)
        .mount(&h.mock)
        .await;
    Mock::given(method("POST"))
        .and(path(PAY_PATH))
        .respond_with(ResponseTemplate::new(402).set_body_json(json!({"error": {
            "code": "payment_required", "message": "costs 900 cents (EUR)",
            "amount": 900, "currency": "eur"}})))
        .mount(&h.mock)
        .await;
}

/// A payment: a refusal before the credential leaves is one `refused` line with its rule;
/// otherwise `attempted` just before the request that carries the credential (the price request
/// before it pays nothing and is not announced), then that request's outcome. Both name its
/// `X-Request-Id` and `Idempotency-Key`; no line holds the credential.
#[tokio::test]
async fn a_payment_is_recorded_before_the_paying_request_and_never_with_its_credential() {
    let dir = scratch("payment");
    let log = dir.join("audit.log");
    let buy = json!({"quantity": 1000, "credential": CREDENTIAL, "confirm_payment": true});
    // This client cannot ask its user, and the operator did not allow payments without that.
    let h = audited(
        Opts {
            payments: true,
            ..Opts::default()
        },
        &log,
    )
    .await;
    shop(&h, ResponseTemplate::new(200)).await;
    let r = h.call(PAY_TOOL, buy.clone()).await;
    assert!(is_error(&r), "{}", text(&r));
    assert!(h.requests().await.is_empty());
    let l = lines(&log);
    assert_eq!(l.len(), 1, "{l:#?}");
    assert_eq!(l[0]["outcome"], "refused");
    assert_eq!(l[0]["rule"], "payment_approval_unavailable");

    // The operator allows it: the price, then the payment.
    let log = dir.join("allowed.log");
    let mut opts = Opts {
        payments: true,
        ..Opts::default()
    };
    opts.extra
        .push(("TREKMAIL_PAYMENTS_WITHOUT_APPROVAL", "true".into()));
    let h = audited(opts, &log).await;
    shop(
        &h,
        ResponseTemplate::new(200).set_body_json(json!({"data": {"credits": 1000}})),
    )
    .await;
    let r = h.call(PAY_TOOL, buy.clone()).await;
    assert!(!is_error(&r), "{}", text(&r));
    let sent = h.requests().await;
    assert_eq!(sent.len(), 2, "the price, then the payment");
    let paying = &sent[1];
    assert!(paying.headers.get("payment-authorization").is_some());
    // A paying request the API answers with an error: its status is the outcome.
    shop(&h, ResponseTemplate::new(503)).await;
    let r = h
        .call(
            PAY_TOOL,
            json!({"quantity": 5, "credential": CREDENTIAL, "confirm_payment": true}),
        )
        .await;
    assert!(is_error(&r), "{}", text(&r));
    let failed = h.requests().await;

    let l = lines(&log);
    let seen: Vec<(&str, &Value)> = l
        .iter()
        .map(|x| (x["outcome"].as_str().unwrap(), &x["status"]))
        .collect();
    assert_eq!(
        seen,
        [
            ("attempted", &Value::Null),
            ("sent", &json!(200)),
            ("attempted", &Value::Null),
            ("sent", &json!(503)),
        ],
        "{l:#?}"
    );
    let header = |r: &wiremock::Request, h: &str| r.headers[h].to_str().unwrap().to_owned();
    for line in &l[..2] {
        assert_eq!(line["tool"], PAY_TOOL);
        assert_eq!(line["approval"], "client_cannot_ask", "{line}");
        assert_eq!(line["confirmed"], true, "{line}");
        assert_eq!(line["request_id"], header(paying, "x-request-id"), "{line}");
        assert_eq!(
            line["idempotency_key"],
            header(paying, "idempotency-key"),
            "{line}"
        );
    }
    assert_ne!(
        l[0]["request_id"],
        header(&sent[0], "x-request-id"),
        "not the price request's"
    );
    assert_eq!(l[2]["request_id"], header(&failed[1], "x-request-id"));
    let all = std::fs::read_to_string(&log).unwrap();
    assert!(
        !all.contains(CREDENTIAL) && !all.contains("spt_live"),
        "{all}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// The binary with `TREKMAIL_AUDIT_LOG` at `destination`, logs at `level`, stderr kept,
/// initialized, on an API that answers everything with `{"data": {"id": 7}}`.
async fn audit_to(destination: &str, level: &str) -> (MockServer, Peer) {
    let mock = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"id": 7}})))
        .mount(&mock)
        .await;
    let base = mock.uri();
    let mut peer = Peer::spawn(
        &[
            ("TREKMAIL_BASE_URL", &base),
            ("TREKMAIL_API_TOKEN", OPS_TOKEN),
            ("TREKMAIL_SCOPE_AWARE", "false"),
            ("TREKMAIL_LOG", level),
            ("TREKMAIL_AUDIT_LOG", destination),
        ],
        Logs::Kept,
    );
    peer.initialize(json!({})).await;
    (mock, peer)
}

/// `TREKMAIL_AUDIT_LOG=-` on the binary: the lines go to stderr, each whole on its own line
/// beside the logs, and stdout carries the protocol only (a stray line there would come before
/// the answer it belongs to, and `request` checks that the next message is the answer).
#[tokio::test]
async fn over_stdio_the_dash_destination_writes_the_lines_to_stderr() {
    let (mock, mut peer) = audit_to("-", "info").await;
    let call = |name: &str, arguments: Value| json!({"name": name, "arguments": arguments});
    let sent = peer
        .request(
            2,
            "tools/call",
            call("update_mailbox_note", json!({"mailbox_id": 7, "note": "x"})),
        )
        .await;
    assert_eq!(sent["result"]["isError"], false, "{sent}");
    let refused = peer
        .request(
            3,
            "tools/call",
            call(
                "delete_domain",
                json!({"domain_id": 5, "confirm_delete": true}),
            ),
        )
        .await;
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    assert!(!peer.seen.contains("\"outcome\""), "{}", peer.seen);
    let err = peer.stderr().await;
    let audit: Vec<Value> = err
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("outcome").is_some() && v.get("tool").is_some())
        .collect();
    let seen: Vec<(&str, &str)> = audit
        .iter()
        .map(|v| (v["tool"].as_str().unwrap(), v["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("update_mailbox_note", "attempted"),
            ("update_mailbox_note", "sent"),
            ("delete_domain", "refused"),
        ],
        "{err}"
    );
    assert_eq!(audit[2]["rule"], "safety_gate");
    let api = mock.received_requests().await.unwrap();
    assert_eq!(api.len(), 1);
    assert_eq!(
        audit[0]["request_id"],
        api[0].headers["x-request-id"].to_str().unwrap()
    );
    assert!(
        err.lines().any(|l| l.contains("calling the API")),
        "the logs share stderr: {err}"
    );
    assert!(!err.contains(OPS_TOKEN));
}

/// `TREKMAIL_AUDIT_LOG=-` with a client that never reads stderr: once the pipe is full, a write
/// the trail cannot record is refused, and nothing is sent for it; the server never waits for
/// the reader (it answered nothing more once the pipe was full).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn over_stdio_a_full_stderr_refuses_the_writes_it_cannot_record() {
    let (mock, peer) = audit_to("-", "off").await;
    each_write_sent_or_refused(&mock, peer).await;
}

/// The same with the trail in a named pipe (a log shipper's) whose reader stops: the server
/// waited for it, and answered nothing more once the pipe was full.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn over_stdio_a_full_audit_pipe_refuses_the_writes_it_cannot_record() {
    use std::os::unix::fs::OpenOptionsExt as _;
    let fifo = named_pipe();
    // A reader that never reads (opened without waiting for the writer).
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let (mock, peer) = audit_to(fifo.to_str().unwrap(), "off").await;
    each_write_sent_or_refused(&mock, peer).await;
    drop(reader);
}

/// A named pipe that nobody reads cannot be the trail: the start stops, naming the variable
/// (it waited for a reader forever before).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn an_audit_pipe_without_a_reader_stops_the_start() {
    let fifo = named_pipe();
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_trekmail-mcp"))
            .env_clear()
            .env("TREKMAIL_API_TOKEN", OPS_TOKEN)
            .env("TREKMAIL_BASE_URL", "http://127.0.0.1:9")
            .env("TREKMAIL_AUDIT_LOG", &fifo)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the start waits for a reader")
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TREKMAIL_AUDIT_LOG: cannot open"), "{err}");
}

/// A new named pipe in a scratch directory.
#[cfg(target_os = "linux")]
fn named_pipe() -> PathBuf {
    let fifo = scratch("fifo").join("audit.pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    fifo
}

/// 600 writes through `peer`: each is sent to `mock` or refused because the trail cannot record
/// it, and some are refused (the trail's reader never reads).
async fn each_write_sent_or_refused(mock: &MockServer, mut peer: Peer) {
    let mut refused = 0;
    for id in 1..=600 {
        let r = peer
            .request(
                id,
                "tools/call",
                json!({"name": "update_mailbox_note", "arguments": {"mailbox_id": 7, "note": format!("n{id}")}}),
            )
            .await;
        if r["result"]["isError"] == true {
            let text = r["result"]["content"][0]["text"]
                .as_str()
                .unwrap_or_default();
            assert!(
                text.contains("the audit log (TREKMAIL_AUDIT_LOG) cannot record it"),
                "{r}"
            );
            refused += 1;
        }
    }
    let sent = mock.received_requests().await.unwrap().len();
    assert!(refused > 0, "the pipe never filled");
    assert_eq!(sent + refused, 600, "{sent} sent, {refused} refused");
}
