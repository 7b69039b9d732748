//! Calling an operation by its operationId with JSON arguments: the dynamic face of the client
//! that lets a data-driven caller (the MCP server) use every operation without per-operation
//! code. The request is built from the operation as the document describes it (method, path
//! template, parameter locations) and goes through the same transport core as the generated
//! methods; the body is sent exactly as given and the answer comes back whole.

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};

use crate::deadline::Deadline;
use crate::error::CallError;
use crate::generated::Client;
use crate::model::{Location, Operation, ResponseKind};
use crate::transport::{Answer, Facts, OnRetry};

/// Wire arguments of one operation: values by parameter name for each location, and the body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OperationArgs {
    /// Path parameters.
    pub path: Map<String, Value>,
    /// Query parameters.
    pub query: Map<String, Value>,
    /// Header parameters (e.g. `Idempotency-Key`; an `X-Request-Id` given here is used on every
    /// attempt instead of a fresh one).
    pub header: Map<String, Value>,
    /// The JSON body, if the operation takes one.
    pub body: Option<Value>,
}

/// A successful answer, body kept whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: OutcomeBody,
    /// What the transport learnt (request id, idempotency key, attempts).
    pub facts: Facts,
}

/// The body of a successful answer.
#[derive(Debug, Clone, PartialEq)]
pub enum OutcomeBody {
    /// A JSON answer, every field kept in the API's order.
    Json(Value),
    /// A text answer (CSV and the like).
    Text(String),
    /// A non-JSON answer that is not UTF-8 text.
    Binary(bytes::Bytes),
    /// No content (a 204 or an empty 2xx).
    Empty,
}

/// The operation `operation_id` of this build's document (only its own data is parsed).
fn operation(operation_id: &str) -> Result<&'static Operation, CallError> {
    crate::model::operation(operation_id)
        .map_err(|e| CallError::InvalidRequest(format!("the embedded operations: {e}")))?
        .ok_or_else(|| CallError::UnknownOperation(operation_id.to_owned()))
}

/// Characters encoded in a path value so that it stays one segment: the WHATWG path-segment set
/// (what progenitor encodes) plus `\\`, which some servers read as `/`.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'%')
    .add(b'\\');

/// A path value as one encoded segment; `.`, `..` and control characters could change which
/// endpoint is called and are refused.
pub fn path_segment(name: &str, value: &Value) -> Result<String, CallError> {
    let text = scalar(name, value)?;
    let bad = |message: &str| CallError::InvalidArgument {
        name: name.to_owned(),
        message: message.to_owned(),
    };
    if text.is_empty() {
        return Err(bad("must not be empty"));
    }
    if text == "." || text == ".." {
        return Err(bad("`.` and `..` are not allowed in a path value"));
    }
    if text.chars().any(char::is_control) {
        return Err(bad("control characters are not allowed in a path value"));
    }
    Ok(utf8_percent_encode(&text, SEGMENT).to_string())
}

fn scalar(name: &str, value: &Value) -> Result<String, CallError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(CallError::InvalidArgument {
            name: name.to_owned(),
            message: "must be a string, number or boolean".into(),
        }),
    }
}

/// Building the request of an operation and reading its answer.
impl Operation {
    fn url_path(&self, args: &OperationArgs) -> Result<String, CallError> {
        let mut out = String::with_capacity(self.path.len() + 16);
        let mut rest = self.path.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..]
                .find('}')
                .map(|c| open + c)
                .ok_or_else(|| CallError::InvalidRequest(format!("bad path {}", self.path)))?;
            let name = &rest[open + 1..close];
            let value = args
                .path
                .get(name)
                .ok_or_else(|| CallError::InvalidArgument {
                    name: name.to_owned(),
                    message: "missing path parameter".into(),
                })?;
            out.push_str(&path_segment(name, value)?);
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn request(
        &self,
        client: &Client,
        args: &OperationArgs,
    ) -> Result<reqwest::Request, CallError> {
        let method = reqwest::Method::from_bytes(self.method.as_str().as_bytes())
            .map_err(|_| CallError::InvalidRequest(format!("bad method {}", self.method)))?;
        let url = format!(
            "{}{}",
            progenitor_client::ClientInfo::baseurl(client),
            self.url_path(args)?
        );
        let mut request = crate::transport_of(client)
            .http()
            .request(method, url)
            .build()
            .map_err(|e| CallError::InvalidRequest(e.to_string()))?;
        let mut query = Vec::new();
        for p in &self.parameters {
            match p.location {
                Location::Query => {
                    if let Some(v) = args.query.get(&p.name).filter(|v| !v.is_null()) {
                        query.push((p.name.as_str(), scalar(&p.name, v)?));
                    }
                }
                Location::Header => {
                    // Header names are case-insensitive (`IDEMPOTENCY_KEY` is lowercase).
                    let given = args
                        .header
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(&p.name))
                        .map(|(_, v)| v);
                    if let Some(v) = given.filter(|v| !v.is_null()) {
                        insert_header(request.headers_mut(), &p.name, &scalar(&p.name, v)?)?;
                        // `format: password` in the document: a credential, marked sensitive
                        // (hidden from Debug output and from HTTP/2 header compression tables).
                        if p.schema.get("format").and_then(Value::as_str) == Some("password")
                            && let Some(h) = request.headers_mut().get_mut(p.name.as_str())
                        {
                            h.set_sensitive(true);
                        }
                    }
                }
                Location::Path => {}
            }
        }
        // Headers the document does not list but the caller may set (the request id).
        for (name, v) in &args.header {
            if !self
                .parameters
                .iter()
                .any(|p| p.name.eq_ignore_ascii_case(name))
                && !v.is_null()
            {
                insert_header(request.headers_mut(), name, &scalar(name, v)?)?;
            }
        }
        if !query.is_empty() {
            request.url_mut().query_pairs_mut().extend_pairs(query);
        }
        if self.request_body.is_some() {
            let body = args
                .body
                .clone()
                .unwrap_or_else(|| Value::Object(Map::new()));
            let bytes = serde_json::to_vec(&body).map_err(|e| CallError::InvalidArgument {
                name: "body".into(),
                message: e.to_string(),
            })?;
            request
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            *request.body_mut() = Some(bytes.into());
        }
        Ok(request)
    }

    fn outcome(&self, answer: Answer) -> Result<Outcome, CallError> {
        let body = if answer.is_empty() {
            OutcomeBody::Empty
        } else if self.response == ResponseKind::Json {
            OutcomeBody::Json(crate::large_json::parse(answer.body).map_err(|(e, body)| {
                CallError::InvalidResponse(format!(
                    "{e}; body starts: {:?}",
                    crate::error::snippet(&body)
                ))
            })?)
        } else {
            match String::from_utf8(answer.body.to_vec()) {
                Ok(text) => OutcomeBody::Text(text),
                Err(_) => OutcomeBody::Binary(answer.body),
            }
        };
        Ok(Outcome {
            status: answer.status,
            headers: answer.headers,
            body,
            facts: answer.facts,
        })
    }
}

fn insert_header(headers: &mut HeaderMap, name: &str, value: &str) -> Result<(), CallError> {
    let bad = || CallError::InvalidArgument {
        name: name.to_owned(),
        message: "not a valid header value".into(),
    };
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
    headers.insert(name, HeaderValue::from_str(value).map_err(|_| bad())?);
    Ok(())
}

impl Client {
    /// Calls the operation `operation_id` with wire arguments and returns the answer with its
    /// body kept whole (JSON in the API's field order, text, bytes or empty).
    ///
    /// The body is sent exactly as given, so an explicit `[]` or `null` reaches the API (the
    /// generated types would drop both), and the answer is not read into the generated response
    /// type, so no field the document does not name is lost.
    pub async fn call_operation(
        &self,
        operation_id: &str,
        args: &OperationArgs,
    ) -> Result<Outcome, CallError> {
        self.call_operation_observed(operation_id, args, None).await
    }

    /// [`Client::call_operation`], telling `on_retry` before each wait between attempts.
    pub async fn call_operation_observed(
        &self,
        operation_id: &str,
        args: &OperationArgs,
        on_retry: Option<OnRetry<'_>>,
    ) -> Result<Outcome, CallError> {
        let deadline = Deadline::after(crate::transport_of(self).default_deadline());
        self.call_operation_until(operation_id, args, on_retry, deadline)
            .await
    }

    /// [`Client::call_operation_observed`] ending by `deadline`, retries and waits included,
    /// instead of the client's own timeout ([`ClientBuilder::timeout`](crate::ClientBuilder::timeout)):
    /// for a caller whose call began before this request (work of its own first), so that the
    /// whole call ends by one deadline. Too little time left to send it is a
    /// [`CallError::Transport`] of kind [`Timeout`](crate::TransportKind::Timeout) that says
    /// nothing was sent.
    pub async fn call_operation_until(
        &self,
        operation_id: &str,
        args: &OperationArgs,
        on_retry: Option<OnRetry<'_>>,
        deadline: Deadline,
    ) -> Result<Outcome, CallError> {
        let op = operation(operation_id)?;
        let request = op.request(self, args)?;
        let answer = crate::transport_of(self)
            .send_until(request, operation_id, on_retry, deadline)
            .await?;
        op.outcome(answer)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_password_header_is_marked_sensitive_and_others_are_not() {
        let client = crate::ClientBuilder::new("http://127.0.0.1:9")
            .token("tm_live_testOPS0123456789abcdef")
            .build()
            .unwrap();
        let op = operation("agent_buy_verifier_credits").unwrap();
        let mut args = OperationArgs {
            body: Some(serde_json::json!({"quantity": 1000})),
            ..OperationArgs::default()
        };
        args.header
            .insert("Payment-Authorization".into(), "spt_secret_1234".into());
        args.header.insert("Idempotency-Key".into(), "k1".into());
        let request = op.request(&client, &args).unwrap();
        let h = request.headers();
        assert!(h["payment-authorization"].is_sensitive());
        assert!(!h["idempotency-key"].is_sensitive());
        assert!(!format!("{h:?}").contains("spt_secret_1234"));
    }
}
