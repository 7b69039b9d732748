//! Calling a generated operation by its operationId with JSON arguments: the bridge that lets a
//! data-driven caller (the MCP server) use the typed client without per-operation code.

use reqwest::header::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::CallError;
use crate::generated::{Client, ResponseValue, types};
use crate::hooks::{Captured, EMPTY_BODY};

/// Wire arguments of one operation: values by parameter name for each location, and the body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OperationArgs {
    /// Path parameters.
    pub path: Map<String, Value>,
    /// Query parameters.
    pub query: Map<String, Value>,
    /// Header parameters (e.g. `Idempotency-Key`).
    pub header: Map<String, Value>,
    /// The JSON body, if the operation takes one.
    pub body: Option<Value>,
}

impl OperationArgs {
    fn location(&self, location: &str) -> &Map<String, Value> {
        match location {
            "path" => &self.path,
            "query" => &self.query,
            _ => &self.header,
        }
    }

    fn required<T: DeserializeOwned>(&self, location: &str, name: &str) -> Result<T, CallError> {
        let v = self
            .location(location)
            .get(name)
            .ok_or_else(|| CallError::InvalidArgument {
                name: name.to_owned(),
                message: format!("missing {location} parameter"),
            })?;
        convert(name, v.clone())
    }

    fn optional<T: DeserializeOwned>(&self, location: &str, name: &str) -> Result<T, CallError> {
        convert(
            name,
            self.location(location)
                .get(name)
                .cloned()
                .unwrap_or(Value::Null),
        )
    }

    fn body<T: DeserializeOwned>(&self) -> Result<T, CallError> {
        convert(
            "body",
            self.body
                .clone()
                .unwrap_or_else(|| Value::Object(Map::new())),
        )
    }
}

fn convert<T: DeserializeOwned>(name: &str, v: Value) -> Result<T, CallError> {
    serde_json::from_value(v).map_err(|e| CallError::InvalidArgument {
        name: name.to_owned(),
        message: e.to_string(),
    })
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
}

/// The body of a successful answer.
#[derive(Debug, Clone, PartialEq)]
pub enum OutcomeBody {
    /// A JSON answer, every field kept in the API's order.
    Json(Value),
    /// A text answer (CSV and the like).
    Text(String),
    /// No content (a 204 or an empty 2xx).
    Empty,
}

/// The generated method's result reduced to success or a [`CallError`]: the answer itself is
/// read from the raw capture, so whatever type the spec gives a response, no field is lost and
/// no per-type code is needed.
async fn finish<T, E: Serialize>(
    r: Result<ResponseValue<T>, progenitor_client::Error<E>>,
) -> Result<(), CallError> {
    r.map(drop).map_err(CallError::from)
}

/// Builds the outcome from the answer as it came off the wire.
fn outcome(c: Captured) -> Result<Outcome, CallError> {
    let body = if c.headers.contains_key(EMPTY_BODY) || c.body.is_empty() {
        OutcomeBody::Empty
    } else if c.json {
        OutcomeBody::Json(serde_json::from_slice(&c.body).map_err(|e| {
            CallError::InvalidResponse(format!(
                "{e}; body starts: {:?}",
                crate::hooks::snippet(&c.body)
            ))
        })?)
    } else {
        OutcomeBody::Text(
            String::from_utf8(c.body.to_vec())
                .map_err(|_| CallError::InvalidResponse("text answer is not UTF-8".into()))?,
        )
    };
    Ok(Outcome {
        status: c.status,
        headers: c.headers,
        body,
    })
}

include!(concat!(env!("OUT_DIR"), "/dispatch.rs"));

impl Client {
    /// Calls the operation `operation_id` with wire arguments, through the generated method, and
    /// returns the answer with its body kept whole (JSON, text or empty).
    ///
    /// The body is checked against the generated type (it must deserialise into it) and then sent
    /// exactly as given, so an explicit `[]` or `null` reaches the API; the typed serialisation
    /// would drop both.
    pub async fn call_operation(
        &self,
        operation_id: &str,
        args: &OperationArgs,
    ) -> Result<Outcome, CallError> {
        let exact = match &args.body {
            Some(body) => {
                Some(
                    serde_json::to_vec(body).map_err(|e| CallError::InvalidArgument {
                        name: "body".into(),
                        message: e.to_string(),
                    })?,
                )
            }
            None => None,
        };
        let (result, captured) = crate::hooks::capturing(
            exact.map(Into::into),
            dispatch_generated(self, operation_id, args),
        )
        .await;
        match (result, captured) {
            (Ok(()), Some(c)) => outcome(c),
            // A 2xx whose JSON does not fit the spec's type is still the API's answer: pass it on whole.
            (Err(CallError::InvalidResponse(typed)), Some(c)) if (200..300).contains(&c.status) => {
                match outcome(c) {
                    Ok(o) => {
                        tracing::warn!(
                            operation = operation_id,
                            "the answer does not match the spec's response type: {typed}"
                        );
                        Ok(o)
                    }
                    Err(_) => Err(CallError::InvalidResponse(typed)),
                }
            }
            (Ok(()), None) => Err(CallError::InvalidResponse("no answer was captured".into())),
            (Err(e), _) => Err(e),
        }
    }
}
