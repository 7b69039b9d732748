//! Calling a generated operation by its operationId with JSON arguments: the bridge that lets a
//! data-driven caller (the MCP server) use the typed client without per-operation code.

use reqwest::header::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::CallError;
use crate::generated::{ByteStream, Client, ResponseValue, types};
use crate::hooks::EMPTY_BODY;

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

async fn finish_text<E: Serialize>(
    r: Result<ResponseValue<ByteStream>, progenitor_client::Error<E>>,
) -> Result<Outcome, CallError> {
    let rv = r?;
    let status = rv.status().as_u16();
    let headers = rv.headers().clone();
    let mut stream = rv.into_inner().into_inner();
    let mut bytes = Vec::new();
    while let Some(chunk) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
        bytes.extend_from_slice(&chunk.map_err(|e| crate::error::transport(&e))?);
    }
    let body = if bytes.is_empty() {
        OutcomeBody::Empty
    } else {
        OutcomeBody::Text(
            String::from_utf8(bytes)
                .map_err(|_| CallError::InvalidResponse("text answer is not UTF-8".into()))?,
        )
    };
    Ok(Outcome {
        status,
        headers,
        body,
    })
}

async fn finish_empty<E: Serialize>(
    r: Result<ResponseValue<()>, progenitor_client::Error<E>>,
) -> Result<Outcome, CallError> {
    let rv = r?;
    Ok(Outcome {
        status: rv.status().as_u16(),
        headers: rv.headers().clone(),
        body: OutcomeBody::Empty,
    })
}

/// Picks the right `finish_*` for a generated method's success type.
trait Finish {
    async fn finish(self) -> Result<Outcome, CallError>;
}

impl<E: Serialize> Finish for Result<ResponseValue<ByteStream>, progenitor_client::Error<E>> {
    async fn finish(self) -> Result<Outcome, CallError> {
        finish_text(self).await
    }
}

impl<E: Serialize> Finish for Result<ResponseValue<()>, progenitor_client::Error<E>> {
    async fn finish(self) -> Result<Outcome, CallError> {
        finish_empty(self).await
    }
}

impl<E: Serialize> Finish for Result<ResponseValue<types::ApiObject>, progenitor_client::Error<E>> {
    async fn finish(self) -> Result<Outcome, CallError> {
        // The generated type wraps the parsed map: move it out rather than serialise a copy
        // (answers can be megabytes of base64).
        let rv = self?;
        let status = rv.status().as_u16();
        let headers = rv.headers().clone();
        let body = if headers.contains_key(EMPTY_BODY) {
            OutcomeBody::Empty
        } else {
            OutcomeBody::Json(Value::Object(rv.into_inner().0))
        };
        Ok(Outcome {
            status,
            headers,
            body,
        })
    }
}

async fn finish<F: Finish>(r: F) -> Result<Outcome, CallError> {
    r.finish().await
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
        match &args.body {
            Some(body) => {
                let bytes = serde_json::to_vec(body).map_err(|e| CallError::InvalidArgument {
                    name: "body".into(),
                    message: e.to_string(),
                })?;
                crate::hooks::with_exact_body(
                    bytes.into(),
                    dispatch_generated(self, operation_id, args),
                )
                .await
            }
            None => dispatch_generated(self, operation_id, args).await,
        }
    }
}
