//! `drive_file_upload`: a local file into Drive, and nothing else leaves the machine.
//! [`confine`] decides which files may be read, [`plan`] reads the API's answer into PUTs,
//! [`storage`] decides where bytes may go and streams them from disk, [`flow`] runs the whole,
//! and [`steps`] makes its API requests through the generated client.

pub mod confine;
pub mod flow;
pub mod plan;
pub mod steps;
pub mod storage;

use std::time::Duration;

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value};
use trekmail_api::{Client, Deadline};

use crate::call::progress::Progress;
use crate::catalog::map::{GateName, UPLOAD_PATH_ARG};
use crate::catalog::schema::IdempotencyKey;
use confine::{Opened, UploadDirs};

/// Where uploads may read from and how their bytes travel: one per process.
pub struct Context {
    /// `TREKMAIL_UPLOAD_DIR`.
    pub dirs: UploadDirs,
    /// The HTTP client for storage URLs: no token, no redirects.
    pub http: reqwest::Client,
    /// `TREKMAIL_BASE_URL`: storage on its origin may be plain http (the sandbox, tests).
    pub base_url: String,
}

/// The operations of an upload flow (operationIds).
pub struct Operations<'a> {
    /// Starts it (the tool's own operation).
    pub initiate: &'a str,
    /// Finishes it.
    pub complete: &'a str,
    /// Drops it.
    pub abort: &'a str,
    /// Re-presigns refused part URLs.
    pub refresh: &'a str,
    /// Reads the file (before any abort).
    pub status: &'a str,
}

/// Opens the file a call of `tool` names in `local_path`, if `ctx` (`TREKMAIL_UPLOAD_DIR`, over
/// stdio) allows it. `Err` is the refusal, before anything is sent: it names the variable and
/// says why, never what the file holds.
pub fn open(
    ctx: Option<&Context>,
    tool: &str,
    args: &Map<String, Value>,
) -> Result<Opened, String> {
    let Some(ctx) = ctx else {
        return Err(format!(
            "{tool} reads only files inside {}, which is not set here; nothing was sent.",
            GateName::UploadDir.env_var()
        ));
    };
    let path = args
        .get(UPLOAD_PATH_ARG)
        .and_then(Value::as_str)
        .unwrap_or_default();
    confine::open(&ctx.dirs, path)
}

/// The arguments an upload's idempotency key is derived from: the call's, and the opened file's
/// size and modification time (under a name no tool argument can have), so that uploading a
/// changed file again is a new intent with a key of its own.
pub fn intent_args(args: &Map<String, Value>, opened: &Opened) -> Map<String, Value> {
    let mut out = args.clone();
    out.insert(
        "(file)".into(),
        serde_json::json!({"size": opened.len, "mtime": [opened.mtime.0, opened.mtime.1]}),
    );
    out
}

/// Runs the upload of `opened` for a tool call with `args` (`name`, `folder_id`, `client_mime`
/// besides `local_path`) and the initiate request's `path` arguments, its API requests keyed by
/// `ids` (the `Idempotency-Key` stem, and the call's `X-Request-Id`, which the audit line
/// names). The call's `deadline`, extended for the file's size ([`plan::deadline`]), bounds
/// initiate and the PUTs; complete or abort then has a deadline of its own (the client's).
/// The result is complete's answer, or a failure naming the step (the upload aborted).
#[allow(clippy::too_many_arguments)] // one call site; each is a distinct fact of the call
pub async fn call(
    ctx: &Context,
    client: &Client,
    ops: &Operations<'_>,
    path: Map<String, Value>,
    args: &Map<String, Value>,
    opened: &Opened,
    ids: (IdempotencyKey, String),
    progress: Option<&Progress>,
    deadline: Deadline,
) -> CallToolResult {
    let deadline = deadline.extended(plan::deadline(Duration::ZERO, opened.len));
    let (key, request_id) = ids;
    // By default the name the agent gave (its last segment), not a symlink's target's.
    let given = args
        .get(UPLOAD_PATH_ARG)
        .and_then(Value::as_str)
        .map(std::path::Path::new);
    let name = args
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            given
                .and_then(|p| p.file_name())
                .or_else(|| opened.path.file_name())
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "upload".into());
    let request = flow::Request {
        name,
        folder_id: args.get("folder_id").cloned().unwrap_or(Value::Null),
        client_mime: args
            .get("client_mime")
            .and_then(Value::as_str)
            .map(str::to_owned),
    };
    let steps = steps::ClientSteps {
        client,
        initiate: (ops.initiate, path),
        complete: ops.complete,
        abort: ops.abort,
        refresh: ops.refresh,
        status: ops.status,
        key,
        request_id,
        upload_by: deadline,
    };
    match flow::run(
        &steps,
        &ctx.http,
        &ctx.base_url,
        opened,
        &request,
        deadline,
        progress,
    )
    .await
    {
        Ok(flow::Uploaded { answer, earlier }) => {
            let text = serde_json::to_string_pretty(&answer).unwrap_or_default();
            let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
            if earlier {
                // A retry's answer: the upload it repeats, and how to make a new one.
                tracing::info!("upload repeated an earlier completed one: nothing sent again");
                r.content.push(ContentBlock::text(
                    "This call repeated an earlier upload of the same unchanged file (same arguments, size and modification time), which had completed: that upload is the answer above and nothing was uploaded again. To upload another copy on purpose, pass a new idempotency_key.",
                ));
            } else {
                tracing::info!(bytes = opened.len, "upload completed");
            }
            if answer.is_object() {
                r.structured_content = Some(answer);
            }
            r
        }
        Err(e) => {
            tracing::warn!("upload failed: {e}");
            crate::call::results::refusal(e)
        }
    }
}
