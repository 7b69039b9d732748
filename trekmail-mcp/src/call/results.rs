//! What the agent receives: the API's answer whole on success (a file as a file), and on failure one clear text
//! with the status, the API's code, message, hint and request id, our request id and the details.

use base64::Engine as _;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value, json};
use trekmail_api::{CallError, Outcome, OutcomeBody, TokenKind, TransportKind};

use crate::call::files::File;
use crate::call::outside::{self, Marker};
use crate::call::shelf::Shelf;
use crate::call::tokens::TokenVariable as _;
use crate::catalog::ToolDef;
use crate::catalog::argpath::ArgPath;
use crate::catalog::map::FileSpec;
use crate::catalog::schema::IdempotencyKey;
use crate::catalog::truncate::cut;

/// A refusal or validation failure: the model can correct the call.
pub fn refusal(text: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(text.into())])
}

/// Where a file tool's answer carries its file, and how it is delivered.
pub struct FileAnswer<'a> {
    /// The tool.
    pub tool: &'a str,
    /// The answer fields that hold the file.
    pub spec: &'a FileSpec,
    /// The `trekmail://` URI that reads it again.
    pub uri: &'a str,
    /// Files larger than this come as a link (`TREKMAIL_MAX_INLINE_BYTES`).
    pub max_inline: u64,
    /// The client that fetched it, whose secrets are redacted from the decoded file.
    pub client: &'a trekmail_api::Client,
    /// Where a linked file waits for its read, and under which caller.
    pub shelf: (&'a Shelf, [u8; 32]),
}

/// A successful answer: a file as a file (see `files`), any other JSON whole. `output` is
/// the tool's outputSchema, which a JSON answer must fit to be structuredContent; `write` says
/// whether the operation changes anything; `outside` are the answer paths whose text people
/// outside the account wrote (see `outside`).
pub fn success(def: &ToolDef, outcome: Outcome, file: Option<FileAnswer<'_>>) -> CallToolResult {
    // The name, output schema, write flag and outside-text paths are the definition's.
    let (tool, write) = (def.entry.name.as_str(), def.writes());
    let output: Option<&Map<String, Value>> = def.tool().output_schema.as_deref();
    let outside: &[ArgPath] = &def.paths().outside_text;
    match outcome.body {
        OutcomeBody::Json(value) => {
            if let Some(f) = file {
                return match File::from_answer(value, f.spec, f.client) {
                    Ok(file) => {
                        let marker = (!outside.is_empty()).then(Marker::new);
                        let (r, file) = file.result(f.uri, f.max_inline, marker.as_ref());
                        if file.is_linked(f.max_inline) {
                            let (shelf, caller) = f.shelf;
                            shelf.put(caller, f.uri, file, std::time::Instant::now());
                        }
                        r
                    }
                    Err(value) => with_notice(not_a_file(f.tool, f.spec, &value, outside)),
                };
            }
            if let Some(Err(why)) = output.map(|s| crate::catalog::output::fits(s, &value)) {
                return with_notice(not_as_documented(tool, &why, &value, write, outside));
            }
            let marked = outside::mark(&value, outside);
            let text = marked.enclosed.to_string();
            let structured = match marked.plain {
                v @ Value::Object(_) => v,
                other => json!({ "result": other }),
            };
            let mut r = CallToolResult::structured(structured);
            r.content = vec![ContentBlock::text(text)];
            if let Some(m) = marked.marker {
                r.content.push(ContentBlock::text(m.notice()));
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

/// A success answer without the file where the spec puts it: passed through as JSON, once, as
/// an error (the tool's output schema promises a file's metadata, which this answer lacks).
fn not_a_file(
    tool: &str,
    spec: &FileSpec,
    value: &Value,
    outside: &[ArgPath],
) -> (CallToolResult, Option<Marker>) {
    let marked = outside::mark(value, outside);
    (
        refusal(format!(
            "{tool}: the TrekMail API answered success without a file in `{}` (base64, inside `data` or not), so it is passed through as the API sent it:\n{}",
            spec.content, marked.enclosed
        )),
        marked.marker,
    )
}

/// A success answer that does not fit the tool's outputSchema: the action was done, so the answer
/// is passed through whole, once, as text; an error result, because a client validating
/// structuredContent against the schema would reject it. Only a write is told not to repeat
/// itself: a read changed nothing and may be called again.
fn not_as_documented(
    tool: &str,
    why: &str,
    value: &Value,
    write: bool,
    outside: &[ArgPath],
) -> (CallToolResult, Option<Marker>) {
    let took_effect = if write {
        " (a write took effect: do not repeat it)"
    } else {
        ""
    };
    let marked = outside::mark(value, outside);
    // The misfit quotes the answer: with outside text in it, it is enclosed whole.
    let why = match &marked.marker {
        Some(m) => m.enclose(why),
        None => why.to_owned(),
    };
    (
        refusal(format!(
            "{tool}: the TrekMail API answered success{took_effect} but not in the documented shape ({why}), so the answer is passed through as the API sent it:\n{}",
            marked.enclosed
        )),
        marked.marker,
    )
}

/// A result with the markers' notice after the answer, when it has outside text.
fn with_notice((mut r, marker): (CallToolResult, Option<Marker>)) -> CallToolResult {
    if let Some(m) = marker {
        r.content.push(ContentBlock::text(m.notice()));
    }
    r
}

/// Adds what the agent must know beyond the API's answer, in a text block of its own so the
/// answer stays whole: the write's `Idempotency-Key` and notes (ignored arguments).
pub fn annotate(
    mut r: CallToolResult,
    key: Option<&IdempotencyKey>,
    notes: &[String],
) -> CallToolResult {
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
                TransportKind::Timeout => {
                    "the TrekMail API did not answer in time (TREKMAIL_TIMEOUT_MS)"
                }
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
        // The client crate names no variable of this server: the limit's variable is added here.
        CallError::TooLarge { limit } => format!(
            "{tool} failed: the answer is larger than the limit of {limit} bytes (TREKMAIL_MAX_RESPONSE_BYTES); it was not read"
        ),
        other => format!("{tool} failed: {other}"),
    };
    detail.insert("request_id".into(), request_id.into());
    // The text says each thing once: the headline (status, code, message, hint), the field
    // errors of a validation failure, whatever else the API said, and the request ids.
    // structuredContent keeps the whole error body for programs.
    let mut text = headline;
    if let CallError::Api(e) = err {
        let fields = field_errors(&e.body);
        for (field, message) in fields.iter().take(MAX_FIELD_ERRORS) {
            text.push_str(&format!("\n- {field}: {}", cut(message, 300)));
        }
        if fields.len() > MAX_FIELD_ERRORS {
            text.push_str(&format!(
                "\n- … and {} more",
                fields.len() - MAX_FIELD_ERRORS
            ));
        }
        if let Some(rest) = unsaid(&e.body, !fields.is_empty()) {
            text.push_str(&format!("\nThe API also said: {}", cut(&rest, 2000)));
        }
        if let Some(api) = &e.request_id {
            text.push_str(&format!("\nAPI request id: {api}"));
        }
    }
    text.push_str(&format!("\nrequest id: {request_id}"));
    let mut r = CallToolResult::error(vec![ContentBlock::text(text)]);
    r.structured_content = Some(json!({ "error": detail }));
    r
}

/// Field errors listed in one failure.
const MAX_FIELD_ERRORS: usize = 20;

/// Keys of the error envelope the headline already says.
const SAID: [&str; 6] = [
    "code",
    "message",
    "hint",
    "request_id",
    "retryable",
    "retry_after",
];

/// Keys that may hold the field errors of a validation failure.
const FIELD_ERROR_KEYS: [&str; 4] = ["details", "errors", "fields", "field_errors"];

/// The error fields of the envelope (`error`, or the top level).
fn envelope(body: &Value) -> Option<&Map<String, Value>> {
    body.get("error")
        .and_then(Value::as_object)
        .or_else(|| body.as_object())
}

/// Field errors wherever the API puts them: `{field: message | [messages]}` or
/// `[{field | path | name, message | error}]`, under `details`, `errors`, `fields` or
/// `field_errors`, in the envelope or at the top level.
fn field_errors(body: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let places = [envelope(body), body.as_object()];
    let Some(found) = places
        .into_iter()
        .flatten()
        .flat_map(|m| FIELD_ERROR_KEYS.iter().filter_map(|k| m.get(*k)))
        .next()
    else {
        return out;
    };
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => Some(
            a.iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Value::Null => None,
        other => Some(other.to_string()),
    };
    match found {
        Value::Object(m) => {
            for (k, v) in m {
                if let Some(t) = text(v) {
                    out.push((k.clone(), t));
                }
            }
        }
        Value::Array(items) => {
            for i in items {
                let field = ["field", "path", "name", "param"]
                    .iter()
                    .find_map(|k| i.get(*k).and_then(Value::as_str));
                let message = ["message", "error", "detail", "reason"]
                    .iter()
                    .find_map(|k| i.get(*k))
                    .and_then(text);
                match (field, message, i.as_str()) {
                    (Some(f), Some(m), _) => out.push((f.to_owned(), m)),
                    (None, Some(m), _) => out.push(("(request)".into(), m)),
                    (_, _, Some(s)) => out.push(("(request)".into(), s.to_owned())),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    out
}

/// What the error body holds beyond what the text already said, as compact JSON.
fn unsaid(body: &Value, listed_fields: bool) -> Option<String> {
    let Some(env) = envelope(body) else {
        return (!body.is_null()).then(|| body.to_string());
    };
    // Beside an `error` object, the body's other top-level keys are unsaid too.
    let outer = body
        .as_object()
        .filter(|_| body.get("error").is_some_and(Value::is_object))
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "error");
    let rest: Map<String, Value> = env
        .iter()
        .chain(outer)
        .filter(|(k, _)| {
            let listed = listed_fields && FIELD_ERROR_KEYS.contains(&k.as_str());
            !(SAID.contains(&k.as_str()) || listed)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (!rest.is_empty()).then(|| Value::Object(rest).to_string())
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
