//! The upload itself: initiate with the size of the opened file, PUT each part from disk to its
//! storage URL (each retried on connection failures, timeouts, 5xx and 429, all within the
//! upload's deadline; a part whose URL the storage refuses (403) gets a fresh URL from the API
//! once), then complete; on any failure after initiate, abort, and say which step failed. An
//! upload that is no longer pending is never aborted: when the API's file is already complete,
//! this call repeated an earlier identical one (the same key replays its initiate) and its
//! answer is that upload. The API's requests are [`Steps`]: the tool's operations in the server,
//! a plain HTTP stand-in in tests.

use std::future::Future;
use std::time::Duration;

use serde_json::{Map, Value, json};
use trekmail_api::Deadline;

use super::confine::Opened;
use super::plan::{self, Plan};
use super::storage::{self, PutError};
use crate::call::progress::Progress;

/// The API's side of an upload. Each `Err` is a sentence for the agent (no secret, no body).
pub trait Steps {
    /// Starts the upload; the answer carries the plan.
    fn initiate(&self, body: Value) -> impl Future<Output = Result<Value, String>> + Send;
    /// Finishes it; `body` is `{}` or `{"parts": [{"part_number", "etag"}]}`.
    fn complete(
        &self,
        file_id: &Value,
        body: Value,
    ) -> impl Future<Output = Result<Value, String>> + Send;
    /// Drops it.
    fn abort(&self, file_id: &Value) -> impl Future<Output = Result<(), String>> + Send;
    /// New storage URLs for `part_numbers`; the answer lists `parts: [{part_number, upload_url}]`.
    fn refresh(
        &self,
        file_id: &Value,
        part_numbers: &[u64],
    ) -> impl Future<Output = Result<Value, String>> + Send;
    /// The file as the API has it now (its `status`: `uploading` while pending).
    fn status(&self, file_id: &Value) -> impl Future<Output = Result<Value, String>> + Send;
}

/// A finished upload: complete's answer, or the file an earlier identical call uploaded.
#[derive(Debug, Clone, PartialEq)]
pub struct Uploaded {
    /// The API's answer.
    pub answer: Value,
    /// This call repeated an earlier one whose upload had completed: nothing was uploaded again.
    pub earlier: bool,
}

/// What the agent asked for, beside the file.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Name in Drive.
    pub name: String,
    /// Target folder (`null`: the root).
    pub folder_id: Value,
    /// MIME type, sent only when given.
    pub client_mime: Option<String>,
}

/// Attempts of one PUT, the first included.
const PUT_ATTEMPTS: u32 = 3;

/// Runs the upload of `file` by `deadline` (the upload's: [`plan::deadline`] from the call's
/// start) for initiate and the PUTs. `Ok` is complete's answer; `Err` names the failed step and
/// whether the upload was aborted.
pub async fn run(
    steps: &impl Steps,
    http: &reqwest::Client,
    base_url: &str,
    file: &Opened,
    request: &Request,
    deadline: Deadline,
    progress: Option<&Progress>,
) -> Result<Uploaded, String> {
    let mut body = Map::new();
    body.insert("name".into(), json!(request.name));
    body.insert("size_bytes".into(), json!(file.len));
    body.insert("folder_id".into(), request.folder_id.clone());
    if let Some(m) = request.client_mime.as_ref().filter(|m| !m.is_empty()) {
        body.insert("client_mime".into(), json!(m));
    }
    let answer = steps
        .initiate(Value::Object(body))
        .await
        .map_err(|e| format!("The upload failed at initiate; nothing of the file was sent: {e}"))?;
    let file_id = answer
        .get("data")
        .unwrap_or(&answer)
        .get("file_id")
        .filter(|v| v.is_number() || v.is_string())
        .cloned();
    let fail = |step: String, why: String| async move {
        // Only a pending upload is aborted. One the API already completed was made by an
        // earlier identical call, whose initiate this call's key replayed.
        if let Some(id) = &file_id
            && let Ok(file) = steps.status(id).await
        {
            let d = file.get("data").filter(|d| d.is_object()).unwrap_or(&file);
            match d.get("status").and_then(Value::as_str) {
                Some("active") => {
                    return Ok(Uploaded {
                        answer: file.clone(),
                        earlier: true,
                    });
                }
                Some(s) if s != "uploading" => {
                    return Err(format!(
                        "The upload failed at {step}: {why}; the upload {id} is {s}, not pending, so nothing was aborted: this call repeats an earlier upload of the same unchanged file. To upload it again, pass a new idempotency_key."
                    ));
                }
                _ => {}
            }
        }
        let aborted = match &file_id {
            Some(id) => match steps.abort(id).await {
                Ok(()) => "the upload was aborted".to_owned(),
                Err(e) => format!("aborting it failed too ({e})"),
            },
            None => "there was no upload id to abort".to_owned(),
        };
        Err(format!("The upload failed at {step}: {why}; {aborted}."))
    };
    let plan: Plan = match plan::plan(&answer, file.len, base_url) {
        Ok(p) => p,
        Err(e) => return fail("initiate's answer".into(), e).await,
    };
    let total = u32::try_from(plan.parts.len()).unwrap_or(u32::MAX);
    let mut etags = Vec::new();
    for part in &plan.parts {
        let what = if plan.multipart {
            format!("the PUT of part {} of {}", part.number, plan.parts.len())
        } else {
            "the PUT of the file".to_owned()
        };
        let mut attempt = 1;
        let mut url = part.url.clone();
        let mut refreshed = false;
        let etag = loop {
            let left = deadline.remaining();
            if left.is_zero() {
                return fail(
                    what,
                    format!(
                        "the upload's deadline ({} s for {} bytes) passed",
                        deadline.length().as_secs(),
                        file.len
                    ),
                )
                .await;
            }
            match storage::put(
                http,
                &url,
                &plan.headers,
                &file.file,
                (part.offset, part.len),
                left,
            )
            .await
            {
                Ok(etag) => break etag,
                Err(PutError::Retryable(why)) if attempt < PUT_ATTEMPTS => {
                    if let Some(p) = progress {
                        p.tell(format!("{what}: {why}; trying again"), Some(total));
                    }
                    let wait = Duration::from_millis(250 << attempt).min(left / 2);
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                // An expired or revoked part URL: once, a fresh one from the API.
                Err(PutError::Refused(why)) if plan.multipart && !refreshed => {
                    refreshed = true;
                    url = match fresh_url(steps, &plan.file_id, part.number, base_url).await {
                        Ok(u) => u,
                        Err(e) => {
                            return fail(what, format!("{why}; a fresh URL was not given: {e}"))
                                .await;
                        }
                    };
                    if let Some(p) = progress {
                        p.tell(
                            format!("{what}: {why}; trying once with a fresh URL"),
                            Some(total),
                        );
                    }
                }
                Err(e) => return fail(what, e.reason().to_owned()).await,
            }
        };
        if file.changed() {
            return fail(what, "the file changed while it was uploaded".into()).await;
        }
        if plan.multipart {
            let Some(etag) = etag else {
                return fail(what, "the storage answered without an ETag".into()).await;
            };
            etags.push(json!({"part_number": part.number, "etag": etag}));
        }
        if let Some(p) = progress {
            p.tell(
                format!("sent part {} of {}", part.number, plan.parts.len()),
                Some(total),
            );
        }
    }
    let body = if plan.multipart {
        json!({"parts": etags})
    } else {
        json!({})
    };
    match steps.complete(&plan.file_id, body).await {
        Ok(answer) => Ok(Uploaded {
            answer,
            earlier: false,
        }),
        Err(e) => fail("complete".into(), e).await,
    }
}

/// A fresh storage URL for part `number` from the API's refresh, held to the same rules as the
/// first ([`storage::allowed`]).
async fn fresh_url(
    steps: &impl Steps,
    file_id: &Value,
    number: u64,
    base_url: &str,
) -> Result<url::Url, String> {
    let answer = steps.refresh(file_id, &[number]).await?;
    let d = answer
        .get("data")
        .filter(|d| d.is_object())
        .unwrap_or(&answer);
    let raw = d["parts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["part_number"].as_u64() == Some(number))
        .and_then(|p| p["upload_url"].as_str())
        .ok_or_else(|| format!("the refresh named no URL for part {number}"))?;
    storage::allowed(raw, base_url)
}
