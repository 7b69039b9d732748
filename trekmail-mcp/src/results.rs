//! What the agent receives: the API's answer whole on success, and on failure one clear text
//! with the status, the API's code, message, hint and request id, our request id and the details.

use base64::Engine as _;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value, json};
use trekmail_api::{CallError, Outcome, OutcomeBody, TokenKind, TransportKind};

/// A refusal or validation failure: the model can correct the call.
pub fn refusal(text: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(text.into())])
}

/// A successful answer. `decode_field` names a base64 field the agent gets decoded as text.
pub fn success(outcome: Outcome, decode_field: Option<&str>) -> CallToolResult {
    match outcome.body {
        OutcomeBody::Json(value) => {
            let text = value.to_string();
            let decoded = decode_field
                .and_then(|f| {
                    value
                        .get(f)
                        .or_else(|| value.pointer(&format!("/data/{f}")))
                })
                .and_then(decode);
            let structured = match value {
                Value::Object(_) => value,
                other => json!({ "result": other }),
            };
            let mut r = CallToolResult::structured(structured);
            if let Some(d) = decoded {
                r.content = vec![ContentBlock::text(d)];
            } else {
                r.content = vec![ContentBlock::text(text)];
            }
            r
        }
        OutcomeBody::Text(text) => CallToolResult::success(vec![ContentBlock::text(text)]),
        OutcomeBody::Binary(bytes) => {
            let content_type = outcome
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/octet-stream");
            CallToolResult::success(vec![ContentBlock::text(format!(
                "Binary answer: {} bytes of {content_type}, base64:\n{}",
                bytes.len(),
                base64::engine::general_purpose::STANDARD.encode(&bytes)
            ))])
        }
        OutcomeBody::Empty => {
            let mut r = CallToolResult::structured(json!({ "ok": true, "status": outcome.status }));
            r.content = vec![ContentBlock::text(format!(
                "Done: HTTP {} with no content.",
                outcome.status
            ))];
            r
        }
    }
}

/// Adds what the agent must know beyond the API's answer, in a text block of its own so the
/// answer stays whole: the write's `Idempotency-Key` and notes (ignored arguments).
pub fn annotate(mut r: CallToolResult, key: Option<&str>, notes: &[String]) -> CallToolResult {
    let mut lines: Vec<String> = notes.to_vec();
    if let Some(k) = key {
        lines.push(format!(
            "Idempotency-Key: {k} (the same call again is a retry with this key; to repeat the action on purpose, pass a new idempotency_key)"
        ));
    }
    if !lines.is_empty() {
        r.content.push(ContentBlock::text(lines.join("\n")));
    }
    r
}

/// API error codes of a 403 that mean the account's plan, not the token, stands in the way.
pub const PLAN_ERROR_CODES: &[&str] = &[
    "plan_api_disabled",
    "token_scope_blocked_by_plan",
    "feature_not_available",
    "plan_limit_reached",
];

fn decode(v: &Value) -> Option<String> {
    let s = v.as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// A failed call, shaped for the agent. `write` says whether the operation changes anything.
pub fn failure(
    tool: &str,
    err: &CallError,
    request_id: &str,
    token: TokenKind,
    write: bool,
) -> CallToolResult {
    let mut detail = Map::new();
    let headline = match err {
        CallError::Api(e) => {
            detail.insert("status".into(), e.status.into());
            for (k, v) in [
                ("code", &e.code),
                ("message", &e.message),
                ("hint", &e.hint),
                ("api_request_id", &e.request_id),
            ] {
                if let Some(v) = v {
                    detail.insert(k.into(), v.clone().into());
                }
            }
            if let Some(r) = e.retryable {
                detail.insert("retryable".into(), r.into());
            }
            if let Some(after) = e.retry_after {
                detail.insert("retry_after_s".into(), after.as_secs_f64().ceil().into());
            }
            detail.insert("attempts".into(), e.attempts.into());
            if e.non_json_body {
                detail.insert("non_json_body".into(), true.into());
            }
            detail.insert("details".into(), e.body.clone());
            let who = format!("the {} token ({})", kind_name(token), token.env_var());
            let plan = e
                .code
                .as_deref()
                .is_some_and(|c| PLAN_ERROR_CODES.contains(&c));
            match e.status {
                403 if plan => format!(
                    "{tool} failed: {e}. The account's plan does not allow this (the token's permissions are not the problem): upgrade the plan or stay within its limits."
                ),
                401 => format!(
                    "{tool} failed: {e}. The API rejected {who}: check that it is valid and not revoked."
                ),
                403 => format!(
                    "{tool} failed: {e}. {} lacks the permission or scope for this operation.",
                    capitalise(&who)
                ),
                429 => format!(
                    "{tool} failed: {e}. Rate limited{}.",
                    e.retry_after
                        .map(|a| format!(": retry after {} s", a.as_secs_f64().ceil()))
                        .unwrap_or_default()
                ),
                s if s >= 500 => format!(
                    "{tool} failed: {e}. The TrekMail API had a problem{}.",
                    retry_note(write)
                ),
                _ => format!("{tool} failed: {e}"),
            }
        }
        CallError::Transport { kind, message } => {
            detail.insert(
                "transport".into(),
                format!("{kind:?}").to_lowercase().into(),
            );
            detail.insert("message".into(), message.clone().into());
            let what = match kind {
                TransportKind::Timeout => "the TrekMail API did not answer in time",
                TransportKind::Connect => {
                    "cannot connect to the TrekMail API (check TREKMAIL_BASE_URL and the network)"
                }
                TransportKind::Other => "the connection to the TrekMail API failed",
            };
            format!(
                "{tool} failed: {what}: {message}{}{}",
                tls_note(message),
                retry_note(write)
            )
        }
        CallError::InvalidResponse(m) => {
            detail.insert("message".into(), m.clone().into());
            format!(
                "{tool} failed: the TrekMail API answered success with a body that is not what the spec says: {m}"
            )
        }
        other => format!("{tool} failed: {other}"),
    };
    detail.insert("request_id".into(), request_id.into());
    let text = format!(
        "{headline}\nrequest id: {request_id}\n{}",
        Value::Object(detail.clone())
    );
    let mut r = CallToolResult::error(vec![ContentBlock::text(text)]);
    r.structured_content = Some(json!({ "error": detail }));
    r
}

/// A certificate the TLS stack does not trust: the operator's fix is `TREKMAIL_CA_CERT`.
pub fn tls_note(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("certificate") || m.contains("unknownissuer") {
        ". If the instance uses a private certificate authority, the operator can trust it with TREKMAIL_CA_CERT (a PEM file)"
    } else {
        ""
    }
}

fn retry_note(write: bool) -> &'static str {
    if write {
        "; calling again with the same arguments is safe: the idempotency key makes the API perform it once"
    } else {
        ""
    }
}

fn kind_name(k: TokenKind) -> &'static str {
    match k {
        TokenKind::Ops => "ops",
        TokenKind::Message => "message",
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
