//! The one `ClientHooks` implementation: every generated method sends through the transport
//! core ([`crate::transport::Transport`]), so the typed client and `call_operation` share
//! request ids, idempotency keys, retries, the deadline, the size limit and redirect refusal.

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, Error, OperationInfo};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use reqwest::{Request, Response};

use crate::error::Failed;
use crate::generated::Client;
use crate::transport::{Facts, Transport};

/// Per-client state the hooks read: the transport core.
#[derive(Debug, Clone)]
pub struct ClientState {
    pub(crate) transport: Transport,
}

impl ClientState {
    /// `bytes` with every secret this client redacts replaced by `[redacted]`: for content the
    /// API sent encoded (a base64 file), which the transport's scrub of the raw answer cannot
    /// see once decoded.
    pub fn redact(&self, bytes: Vec<u8>) -> Vec<u8> {
        self.transport.redact(bytes)
    }
}

impl ClientHooks<ClientState> for Client {
    async fn pre<E>(&self, request: &mut Request, _info: &OperationInfo) -> Result<(), Error<E>> {
        // progenitor sends `api-version: <info.version>` on every request; the API has no such header.
        request.headers_mut().remove("api-version");
        if request.body().is_none() {
            request.headers_mut().remove(CONTENT_TYPE);
        }
        Ok(())
    }

    async fn exec(&self, request: Request, info: &OperationInfo) -> reqwest::Result<Response> {
        // Only JSON operations set Accept here; the client-wide default covers the rest.
        let wants_json = request.headers().contains_key(ACCEPT);
        Ok(
            match self
                .inner()
                .transport
                .send(request, info.operation_id)
                .await
            {
                Ok(answer) => {
                    // The generated code reads a JSON operation's body as JSON: an empty 2xx is `{}`.
                    let body = if wants_json && answer.is_empty() {
                        Bytes::from_static(b"{}")
                    } else {
                        answer.body
                    };
                    let mut parts = http::Response::new(()).into_parts().0;
                    parts.status =
                        http::StatusCode::from_u16(answer.status).unwrap_or(http::StatusCode::OK);
                    parts.headers = answer.headers;
                    if wants_json {
                        parts
                            .headers
                            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    }
                    parts.extensions.insert::<Facts>(answer.facts);
                    Response::from(http::Response::from_parts(parts, body))
                }
                Err(e) => failed(e),
            },
        )
    }

    async fn post<E>(
        &self,
        result: &reqwest::Result<Response>,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        // A failure of the core stops the generated code before it reads a status or a body.
        match result {
            Ok(r) => match r.extensions().get::<Failed>() {
                Some(Failed(e)) => Err(Error::UnexpectedResponse(failed(e.clone()))),
                None => Ok(()),
            },
            Err(_) => Ok(()),
        }
    }
}

/// A response that carries a failure of the core, typed, to [`crate::CallError::from`].
fn failed(e: crate::CallError) -> Response {
    let mut r = http::Response::new(Bytes::new());
    *r.status_mut() = http::StatusCode::BAD_GATEWAY;
    r.extensions_mut().insert(Failed(e));
    Response::from(r)
}
