//! MCP Streamable HTTP at `/mcp`, stateless: rmcp's Streamable HTTP service answers every
//! request on its own (no session, so any replica can answer any request), over a
//! [`TrekmailServer`] built for that request's tokens from the process's [`Shared`] state.
//! In front of rmcp: `GET /healthz`, a bound on requests in flight, and who may call
//! ([`auth`]). rmcp checks `Host` and `Origin` (DNS rebinding), the body size, the media types
//! and the protocol version.
//!
//! Memory whatever the requests' shape: each body is read within `TREKMAIL_HTTP_MAX_BODY_BYTES`
//! and scanned before rmcp parses it ([`crate::serve::json_bound`]); a body past a bound (nesting,
//! object or array size, values for its size) is answered 400 with a JSON-RPC error and never
//! parsed. What an accepted request may cost ([`json_bound::Scan::cost`], at most
//! [`json_bound::COST_FACTOR`] times its size plus a constant) is reserved from a budget of
//! `TREKMAIL_HTTP_MAX_BODY_BYTES × TREKMAIL_HTTP_MAX_REQUESTS` bytes (256 MiB by default) for as
//! long as the request is served; a request that does not fit gets 503 at once. The bodies
//! being read take at most as much again: all requests at once stay under twice that product.
//! Both are held until the request's answer is written ([`answer`]); a connection whose client
//! takes no byte of it for [`WRITE_TIMEOUT`] is closed, and the answer dropped with it.

pub mod answer;
pub mod auth;
pub mod settings;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::call::metrics::Metrics;
use crate::call::tokens::{TokenSource, Tokens};
use crate::call::verdict::Rule;
use crate::serve::json_bound;
use crate::serve::server::{Shared, TrekmailServer};
use auth::{BearerCheck, Refusal};
use settings::{HttpConfig, LOOPBACK_HOSTS, LOOPBACK_ORIGINS, TokenMode};

/// The MCP endpoint's path.
pub const MCP_PATH: &str = "/mcp";
/// The health check's path.
pub const HEALTH_PATH: &str = "/healthz";
/// The metrics' path: unauthenticated like the health check, and naming no caller, argument or
/// token ([`crate::call::metrics`]).
pub const METRICS_PATH: &str = "/metrics";
/// How long a client may take to send a request's headers, and then its body: a request that
/// trickles in would otherwise hold one of the bounded request slots forever.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a write may wait for the client to take a byte before its connection is closed: a
/// client that stops reading would otherwise keep its request slot and its answer's memory for
/// as long as it keeps the connection open.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

type Body = BoxBody<Bytes, Infallible>;

/// Who may call and with which tokens.
enum Access {
    /// One server with the environment's tokens; callers present the bearer, if configured.
    Operator {
        server: TrekmailServer,
        bearer: Option<BearerCheck>,
    },
    /// A server per request, for the tokens it presents.
    Caller { shared: Shared },
}

/// The HTTP front of the MCP server.
pub struct HttpServer {
    access: Access,
    mcp: StreamableHttpServerConfig,
    sessions: Arc<NeverSessionManager>,
    requests: Arc<tokio::sync::Semaphore>,
    /// What the requests being served may cost, in KiB: body limit × request bound.
    memory: Arc<tokio::sync::Semaphore>,
    memory_kib: usize,
    max_body_bytes: usize,
    closing: CancellationToken,
    metrics: Arc<Metrics>,
}

/// The memory budget of requests at once, in KiB: body limit × request bound, within what a
/// semaphore counts.
fn memory_budget_kib(max_body_bytes: usize, max_requests: usize) -> usize {
    (max_body_bytes / 1024)
        .saturating_mul(max_requests)
        .clamp(1, tokio::sync::Semaphore::MAX_PERMITS)
}

impl HttpServer {
    /// The server for `http`; `shared` must have been built with the [`TokenSource`] the token
    /// mode implies ([`source`]), and `operator_tokens` are the environment's.
    pub fn new(
        http: &HttpConfig,
        shared: Shared,
        operator_tokens: &Tokens,
    ) -> Result<Self, String> {
        let closing = shared.closing();
        let metrics = shared.metrics();
        let access = match http.tokens {
            TokenMode::Operator => Access::Operator {
                server: shared.server(operator_tokens)?,
                bearer: http.bearer.as_ref().map(BearerCheck::new),
            },
            TokenMode::Caller => Access::Caller { shared },
        };
        let memory_kib = memory_budget_kib(http.max_body_bytes, http.max_requests);
        let mut mcp = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_max_request_body_bytes(http.max_body_bytes)
            .with_cancellation_token(closing.child_token());
        mcp = match http.allowed_hosts.as_deref() {
            Some([any]) if any == "*" => mcp.disable_allowed_hosts(),
            Some(hosts) => mcp.with_allowed_hosts(hosts.iter().cloned()),
            None => mcp.with_allowed_hosts(LOOPBACK_HOSTS),
        };
        mcp = match http.allowed_origins.as_deref() {
            Some([any]) if any == "*" => mcp.disable_allowed_origins(),
            Some(origins) => mcp
                .with_allowed_origins(origins.iter().cloned())
                .enforce_origin_validation(),
            None => mcp
                .with_allowed_origins(LOOPBACK_ORIGINS)
                .enforce_origin_validation(),
        };
        Ok(Self {
            access,
            mcp,
            sessions: Arc::new(NeverSessionManager::default()),
            requests: Arc::new(tokio::sync::Semaphore::new(http.max_requests)),
            memory: Arc::new(tokio::sync::Semaphore::new(memory_kib)),
            memory_kib,
            max_body_bytes: http.max_body_bytes,
            closing,
            metrics,
        })
    }

    /// In operator mode, asks the API what the environment's tokens grant and lists only the
    /// tools they can use, as on stdio (callers' tokens are asked per caller, see
    /// [`Shared::caller_server`]). Returns what could not be learnt, one line per token.
    pub async fn learn_operator_scopes(&mut self) -> Result<Vec<String>, String> {
        match &mut self.access {
            Access::Operator { server, .. } => server.learn_scopes().await,
            Access::Caller { .. } => Ok(Vec::new()),
        }
    }

    /// Answers one request.
    pub async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        let path = req.uri().path();
        if path == HEALTH_PATH {
            return if matches!(*req.method(), Method::GET | Method::HEAD) {
                text(StatusCode::OK, "ok\n")
            } else {
                text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n")
            };
        }
        if path == METRICS_PATH {
            return if matches!(*req.method(), Method::GET | Method::HEAD) {
                let mut r = Response::new(Full::new(Bytes::from(self.metrics.render())).boxed());
                r.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                );
                r
            } else {
                text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n")
            };
        }
        if path != MCP_PATH {
            return text(
                StatusCode::NOT_FOUND,
                "not found: the MCP endpoint is /mcp\n",
            );
        }
        // More requests than the bound are answered at once, not queued: memory stays bounded and
        // a load balancer can send the request to another replica.
        let Ok(permit) = Arc::clone(&self.requests).try_acquire_owned() else {
            self.metrics.refused(Rule::HttpRequestsInFlight);
            return busy("busy: too many requests in flight; retry shortly\n");
        };
        let server = match &self.access {
            Access::Operator { server, bearer } => {
                match auth::operator(req.headers(), bearer.as_ref()) {
                    Ok(()) => server.clone(),
                    Err(refusal) => return self.refused(&refusal),
                }
            }
            Access::Caller { shared } => match auth::caller(req.headers()) {
                // The tokens live in this server only, dropped with this request.
                Ok(tokens) => match shared.caller_server(&tokens).await {
                    Ok(s) => s,
                    Err(_) => {
                        return self.refused(&Refusal {
                            status: StatusCode::UNAUTHORIZED,
                            message: "the token cannot be sent in a header",
                        });
                    }
                },
                Err(refusal) => return self.refused(&refusal),
            },
        };
        // The body is read here, within the size limit and the read deadline, before rmcp sees it.
        let (parts, body) = req.into_parts();
        let body = http_body_util::Limited::new(body, self.max_body_bytes);
        let body = match tokio::time::timeout(READ_TIMEOUT, body.collect()).await {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                self.metrics.refused(Rule::HttpBodyTooLarge);
                return text(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "the request body is larger than TREKMAIL_HTTP_MAX_BODY_BYTES\n",
                );
            }
            Ok(Err(_)) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    "the request body could not be read\n",
                );
            }
            Err(_) => {
                return text(
                    StatusCode::REQUEST_TIMEOUT,
                    "the request body did not arrive in time\n",
                );
            }
        };
        let scan = match json_bound::check(&body) {
            Ok(scan) => scan,
            Err(r) => {
                tracing::warn!(bytes = body.len(), why = %r.why, "request refused before parsing");
                self.metrics.refused(Rule::HttpBodyShape);
                return refused_shape(&r);
            }
        };
        // What this request may cost, held while it is served; a request costing more than the
        // whole budget (a budget below one full body) takes all of it.
        let kib = (scan.cost() / 1024).max(1);
        let kib = u32::try_from(kib.min(self.memory_kib)).unwrap_or(u32::MAX);
        let Ok(memory) = Arc::clone(&self.memory).try_acquire_many_owned(kib) else {
            self.metrics.refused(Rule::HttpMemoryBudget);
            return busy("busy: the requests in flight use the memory budget; retry shortly\n");
        };
        let req = Request::from_parts(parts, Full::new(body));
        let service = StreamableHttpService::new(
            move || Ok(server.clone()),
            Arc::clone(&self.sessions),
            self.mcp.clone(),
        );
        let (parts, body) = service.handle(req).await.into_parts();
        // The request's slot and memory are held as long as its answer is being written.
        let body = answer::Held::new(body, (permit, memory));
        Response::from_parts(parts, body.boxed())
    }

    /// A caller refused by `auth`, counted.
    fn refused(&self, refusal: &Refusal) -> Response<Body> {
        self.metrics.refused(Rule::HttpUnauthorized);
        refused(refusal)
    }

    /// Serves connections from `listener` until `stop` completes, then stops accepting, lets
    /// the requests in flight finish for at most `drain`, and cancels what is left.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        stop: impl Future<Output = ()>,
        drain: Duration,
    ) {
        let graceful = GracefulShutdown::new();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else {
                        // Out of file descriptors and the like: do not spin.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    };
                    let me = Arc::clone(&self);
                    let service = hyper::service::service_fn(move |req| {
                        let me = Arc::clone(&me);
                        async move { Ok::<_, Infallible>(me.handle(req).await) }
                    });
                    let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
                    stream.set_write_timeout(Some(WRITE_TIMEOUT));
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(READ_TIMEOUT)
                        .serve_connection(TokioIo::new(Box::pin(stream)), service);
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                }
                () = &mut stop => break,
            }
        }
        drop(listener);
        tracing::info!("stopping: no new connections; finishing the requests in flight");
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("all requests finished"),
            () = tokio::time::sleep(drain) => {
                tracing::warn!(drain_ms = u64::try_from(drain.as_millis()).unwrap_or(u64::MAX), "requests still in flight at the drain deadline: cancelled");
            }
        }
        self.closing.cancel();
    }
}

/// The token source a token mode implies.
pub fn source(mode: TokenMode) -> TokenSource {
    match mode {
        TokenMode::Operator => TokenSource::Environment,
        TokenMode::Caller => TokenSource::Request,
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())).boxed());
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// 503 with `Retry-After: 1`: a load balancer can send the request to another replica.
fn busy(body: &'static str) -> Response<Body> {
    let mut r = text(StatusCode::SERVICE_UNAVAILABLE, body);
    r.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// 400 with the JSON-RPC error that answers the request (by its id when the scan found it):
/// nothing of it was parsed or sent.
fn refused_shape(r: &json_bound::Refusal) -> Response<Body> {
    let id =
        r.id.as_ref()
            .and_then(|id| serde_json::to_value(id).ok())
            .unwrap_or(serde_json::Value::Null);
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": -32600, "message": format!("the request is refused: {}", r.why)},
    });
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())).boxed());
    *resp.status_mut() = StatusCode::BAD_REQUEST;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn refused(refusal: &Refusal) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{}\n", refusal.message))).boxed());
    *r.status_mut() = refusal.status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if refusal.status == StatusCode::UNAUTHORIZED {
        r.headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}
