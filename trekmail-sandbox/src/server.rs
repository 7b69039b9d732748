//! The HTTP side: hyper over a loopback listener, `/api/v1` routes from the spec, bearer tokens,
//! request checks from the spec, idempotency keys, and the API's error envelope.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request as HttpRequest, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use tokio::net::TcpListener;
use trekmail_api::TokenKind;
use trekmail_api::model::{Location, Method};

use crate::spec::{Route, Spec, percent_decode, typed};
use crate::store::{Answer, Outside, Request, Store};

/// A remembered answer: request fingerprint, status, body, content type.
type Replay = (String, u16, Vec<u8>, &'static str);

/// One sandbox: the spec, its store and the idempotency memory. Nothing is shared between two.
pub struct Sandbox {
    spec: Spec,
    store: Mutex<Store>,
    /// (token, key) → (request fingerprint, answer).
    replays: Mutex<BTreeMap<(String, String), Replay>>,
}

/// A running sandbox server; dropping it stops it.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// `http://127.0.0.1:PORT`, the base URL to give a client (it appends `/api/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Sandbox {
    /// A fresh sandbox with the seed data.
    pub fn new() -> Result<Self, String> {
        Ok(Self {
            spec: Spec::embedded()?,
            store: Mutex::new(Store::seeded()),
            replays: Mutex::new(BTreeMap::new()),
        })
    }

    /// Serves on `addr` (e.g. `127.0.0.1:0`) in a background task.
    pub async fn start(self, addr: &str) -> Result<Running, String> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let me = Arc::new(self);
        let task = tokio::spawn(async move { me.serve(listener).await });
        Ok(Running { addr, task })
    }

    /// Accepts connections until the task is dropped.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let me = Arc::clone(&self);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let me = Arc::clone(&me);
                    async move { Ok::<_, std::convert::Infallible>(me.answer(req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }

    async fn answer(&self, req: HttpRequest<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let header = |n: &str| {
            parts
                .headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let request_id = header("x-request-id").unwrap_or_else(|| "sandbox".into());
        let path = parts.uri.path().to_owned();
        let query = parts.uri.query().unwrap_or_default().to_owned();
        let headers: BTreeMap<String, String> = parts
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let mut etag = None;
        let (status, mut body, ct) = if path.starts_with(crate::store::OUTSIDE) {
            let out = self.follow(parts.method.as_str(), &path, &query, &bytes);
            etag = out.etag;
            (out.status, out.body, out.content_type)
        } else {
            self.respond(parts.method.as_str(), &path, &query, &headers, &bytes)
        };
        if ct == "application/json"
            && let Ok(mut v) = serde_json::from_slice::<Value>(&body)
            && v.get("error").is_some()
        {
            v["error"]["request_id"] = json!(request_id);
            body = serde_json::to_vec(&v).unwrap_or_default();
        }
        let mut resp = Response::new(Full::new(Bytes::from(body)));
        *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
        if let Ok(v) = hyper::header::HeaderValue::from_str(ct) {
            resp.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
        }
        if let Ok(v) = hyper::header::HeaderValue::from_str(&request_id) {
            resp.headers_mut().insert("x-request-id", v);
        }
        if let Some(v) = etag.and_then(|e| hyper::header::HeaderValue::from_str(&e).ok()) {
            resp.headers_mut().insert(hyper::header::ETAG, v);
        }
        resp
    }

    /// The whole request → answer path without HTTP: (status, body bytes, content type).
    /// `headers` by lower-case name: `authorization`, `idempotency-key`, `host` (the URLs the
    /// sandbox hands out point to it), `payment-authorization`.
    pub fn respond(
        &self,
        method: &str,
        path: &str,
        query: &str,
        headers: &BTreeMap<String, String>,
        body: &[u8],
    ) -> (u16, Vec<u8>, &'static str) {
        let auth = headers.get("authorization");
        let idem = headers.get("idempotency-key").cloned();
        let answer = |a: Answer| -> (u16, Vec<u8>, &'static str) {
            match a.file {
                Some((ct, bytes)) => (a.status, bytes, ct),
                None => (
                    a.status,
                    serde_json::to_vec(&a.body).unwrap_or_default(),
                    "application/json",
                ),
            }
        };
        let Some(rest) = path.strip_prefix("/api/v1") else {
            return answer(Answer::error(
                404,
                "not_found",
                "no such route (the API lives at /api/v1)",
            ));
        };
        let (op, raw_params) = match self.spec.route(Method::parse(method), rest) {
            Route::Found(op, p) => (op, p),
            Route::WrongMethod => {
                return answer(Answer::error(
                    405,
                    "method_not_allowed",
                    format!("{method} is not allowed on {rest}"),
                ));
            }
            Route::NotFound => {
                return answer(Answer::error(
                    404,
                    "not_found",
                    format!("no such route: {method} {rest}"),
                ));
            }
        };
        // Bearer token of the right kind.
        let token = auth
            .and_then(|a| a.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        let kind = TokenKind::of(&token);
        let revoked = {
            let store = self
                .store
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            store.revoked_tokens.contains(&token)
        };
        if revoked {
            return answer(Answer::error(
                401,
                "token_revoked",
                "this token was replaced by agent_reissue_key; use the new one",
            ));
        }
        match kind {
            None => {
                return answer(Answer::error(
                    401,
                    "unauthenticated",
                    "a bearer token tm_live_… (ops) or tm_msg_… (messages) is required",
                ));
            }
            Some(k) if k != op.token => {
                let need = if op.token == TokenKind::Ops {
                    "an ops token (tm_live_…)"
                } else {
                    "a message token (tm_msg_…)"
                };
                return answer(Answer::error(
                    403,
                    "forbidden",
                    format!("{} needs {need}", op.id),
                ));
            }
            Some(_) => {}
        }
        // Request checks from the spec.
        let mut problems = Map::new();
        let mut path_args = BTreeMap::new();
        for (name, raw) in &raw_params {
            let schema = op
                .parameter(Location::Path, name)
                .map(|p| p.schema.clone())
                .unwrap_or(Value::Null);
            match typed(&schema, raw) {
                Ok(v) => {
                    self.spec.check(&schema, &v, name, &mut problems);
                    path_args.insert(name.clone(), v);
                }
                Err(e) => {
                    problems.insert(name.clone(), json!([e]));
                }
            }
        }
        let mut query_args = Map::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (k, v) = (percent_decode(k), percent_decode(v));
            let name = k.trim_end_matches("[]").to_owned();
            match op.parameter(Location::Query, &name) {
                None => {
                    problems.insert(name, json!(["is not a known query parameter"]));
                }
                Some(p) => {
                    let schema = &p.schema;
                    if schema["type"] == "array" {
                        let item = typed(&schema["items"], &v).unwrap_or(Value::String(v.clone()));
                        let e = query_args.entry(name).or_insert_with(|| json!([]));
                        if let Value::Array(a) = e {
                            a.push(item);
                        }
                        continue;
                    }
                    match typed(schema, &v) {
                        Ok(x) => {
                            self.spec.check(schema, &x, &name, &mut problems);
                            query_args.insert(name, x);
                        }
                        Err(e) => {
                            problems.insert(name, json!([e]));
                        }
                    }
                }
            }
        }
        for p in &op.parameters {
            if p.location == Location::Query && p.required && !query_args.contains_key(&p.name) {
                problems.insert(p.name.clone(), json!(["is required"]));
            }
        }
        let json_body: Value = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(e) => {
                    return answer(Answer::error(
                        400,
                        "invalid_json",
                        format!("the body is not JSON: {e}"),
                    ));
                }
            }
        };
        if let Some(schema) = &op.body {
            let v = if json_body.is_null() {
                json!({})
            } else {
                json_body.clone()
            };
            self.spec.check(schema, &v, "", &mut problems);
        }
        if !problems.is_empty() {
            return answer(Answer::invalid(problems));
        }
        // Idempotency: the same key and request replays the first answer; another request is a 422.
        let fingerprint = {
            let mut h = Sha256::new();
            h.update(op.method.as_str().as_bytes());
            h.update(path.as_bytes());
            h.update(query.as_bytes());
            h.update(body);
            format!("{:x}", h.finalize())
        };
        let idem = idem.filter(|k| !k.is_empty() && op.method != Method::Get);
        if let Some(k) = &idem {
            let replays = self
                .replays
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((fp, status, bytes, ct)) = replays.get(&(token.clone(), k.clone())) {
                if *fp == fingerprint {
                    return (*status, bytes.clone(), ct);
                }
                return answer(Answer::error(
                    422,
                    "idempotency_key_reused",
                    "this Idempotency-Key was used with a different request",
                ));
            }
        }
        let mut store = self
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mailbox_id = store.message_tokens.get(&token).copied().unwrap_or(1);
        let host = headers.get("host").map_or("127.0.0.1", String::as_str);
        let out = answer(store.handle(&Request {
            op,
            path: path_args,
            query: query_args,
            body: json_body,
            headers: headers.clone(),
            token: token.clone(),
            mailbox_id,
            base_url: format!("http://{host}"),
        }));
        drop(store);
        // A payment challenge (402) is not an outcome: the paid repeat must reach the store.
        if let Some(k) = idem
            && out.0 < 500
            && out.0 != 402
        {
            let mut replays = self
                .replays
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            replays.insert((token, k), (fingerprint, out.0, out.1.clone(), out.2));
        }
        out
    }

    /// A link the sandbox handed out (below `/_sandbox/`: presigned storage, share links,
    /// invitations), without HTTP. Links carry their own signature, not a token.
    pub fn follow(&self, method: &str, path: &str, query: &str, body: &[u8]) -> Outside {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .outside(method, path, query, body)
    }

    /// The operations the sandbox serves.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }
}
