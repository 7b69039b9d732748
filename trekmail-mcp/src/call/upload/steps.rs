//! The API's side of an upload through the generated client: the tool's operation starts it, and
//! the operations named for complete and abort finish or drop it, for refresh re-presign a part,
//! and for status read the file. Every request goes through the
//! transport like any call (token, request id, idempotency key, retries, deadline).

use serde_json::{Map, Value};
use trekmail_api::{Client, Deadline, OperationArgs, OutcomeBody};

use super::flow::Steps;
use crate::catalog::schema::IdempotencyKey;

/// The three operations and the path arguments of the initiate request (the Drive space).
pub struct ClientSteps<'a> {
    /// Client with the ops token.
    pub client: &'a Client,
    /// operationId of initiate, with its path arguments.
    pub initiate: (&'a str, Map<String, Value>),
    /// operationId of complete (path argument `file_id`).
    pub complete: &'a str,
    /// operationId of abort (path argument `file_id`).
    pub abort: &'a str,
    /// operationId of refresh (path argument `file_id`, body `part_numbers`).
    pub refresh: &'a str,
    /// operationId of the file's read (path argument `file_id`; a GET, no key).
    pub status: &'a str,
    /// One `Idempotency-Key` stem for this upload: each request adds its step, so a retry of a
    /// request repeats its key and two uploads of one file never share one.
    pub key: IdempotencyKey,
    /// The call's `X-Request-Id`, on each of its API requests (the audit line names it).
    pub request_id: String,
    /// When initiate and a part URL's refresh must be over: the upload's deadline. Complete,
    /// abort and the status read come after the parts and have the client's own.
    pub upload_by: Deadline,
}

impl ClientSteps<'_> {
    async fn call(
        &self,
        operation: &str,
        path: Map<String, Value>,
        body: Option<Value>,
        step: &str,
        by: Option<Deadline>,
    ) -> Result<Value, String> {
        let mut header = Map::new();
        if !step.is_empty() {
            header.insert(
                trekmail_api::IDEMPOTENCY_KEY.into(),
                Value::String(self.key.step(step).as_str().to_owned()),
            );
        }
        header.insert(
            trekmail_api::REQUEST_ID.into(),
            Value::String(self.request_id.clone()),
        );
        let args = OperationArgs {
            path,
            query: Map::new(),
            header,
            body,
        };
        let answer = match by {
            Some(deadline) => {
                self.client
                    .call_operation_until(operation, &args, None, deadline)
                    .await
            }
            None => self.client.call_operation(operation, &args).await,
        };
        match answer {
            Ok(o) => Ok(match o.body {
                OutcomeBody::Json(v) => v,
                _ => Value::Null,
            }),
            Err(e) => Err(e.to_string()),
        }
    }

    fn file(file_id: &Value) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("file_id".into(), file_id.clone());
        m
    }
}

impl Steps for ClientSteps<'_> {
    async fn initiate(&self, body: Value) -> Result<Value, String> {
        self.call(
            self.initiate.0,
            self.initiate.1.clone(),
            Some(body),
            "initiate",
            Some(self.upload_by),
        )
        .await
    }

    async fn complete(&self, file_id: &Value, body: Value) -> Result<Value, String> {
        self.call(
            self.complete,
            Self::file(file_id),
            Some(body),
            "complete",
            None,
        )
        .await
    }

    async fn abort(&self, file_id: &Value) -> Result<(), String> {
        self.call(self.abort, Self::file(file_id), None, "abort", None)
            .await
            .map(|_| ())
    }

    async fn refresh(&self, file_id: &Value, part_numbers: &[u64]) -> Result<Value, String> {
        let step = format!(
            "refresh_{}",
            part_numbers
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join("_")
        );
        let body = serde_json::json!({ "part_numbers": part_numbers });
        self.call(
            self.refresh,
            Self::file(file_id),
            Some(body),
            &step,
            Some(self.upload_by),
        )
        .await
    }

    async fn status(&self, file_id: &Value) -> Result<Value, String> {
        // A read: no step, so no Idempotency-Key.
        self.call(self.status, Self::file(file_id), None, "", None)
            .await
    }
}
