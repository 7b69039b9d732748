//! Building a [`Client`] from a base URL and a token.

use std::fmt;
use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, USER_AGENT};

use crate::generated::Client;
use crate::hooks::ClientState;
use crate::retry::RetryPolicy;
use crate::transport::{Limits, Transport};

/// The two kinds of TrekMail token. Each operation of the spec names the one it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// The account operations token, `tm_live_...`.
    Ops,
    /// The mailbox-scoped message token, `tm_msg_...`.
    Message,
}

impl TokenKind {
    /// The prefix every token of this kind starts with.
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Ops => "tm_live_",
            TokenKind::Message => "tm_msg_",
        }
    }

    /// The OpenAPI security scheme that names this kind in the spec (`opsToken`,
    /// `messageToken`).
    pub fn scheme(self) -> &'static str {
        match self {
            TokenKind::Ops => "opsToken",
            TokenKind::Message => "messageToken",
        }
    }

    /// The kind a security scheme of the spec names; `None` for a scheme that names no token.
    pub fn from_scheme(scheme: &str) -> Option<TokenKind> {
        [TokenKind::Ops, TokenKind::Message]
            .into_iter()
            .find(|k| k.scheme() == scheme)
    }

    /// The kind of a syntactically valid token: its prefix, then at least one more character,
    /// all printable ASCII without spaces. `None` for anything else. The one token syntax check
    /// of the workspace (the MCP server and the sandbox use it too).
    pub fn of(token: &str) -> Option<TokenKind> {
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        [TokenKind::Ops, TokenKind::Message]
            .into_iter()
            .find(|k| token.len() > k.prefix().len() && token.starts_with(k.prefix()))
    }
}

/// Why a client could not be built. Never contains a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError(String);

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

/// Configures a [`Client`]: `ClientBuilder::new(base_url).token(t).build()`.
#[derive(Clone)]
pub struct ClientBuilder {
    base_url: String,
    token: Option<String>,
    user_agent: String,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    max_response_bytes: u64,
    redact: Vec<String>,
    extra_roots: Vec<Vec<u8>>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("user_agent", &self.user_agent)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder for the TrekMail instance at `base_url` (e.g. `https://trekmail.net`); `/api/v1`
    /// is appended, and a trailing `/` is ignored.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            token: None,
            user_agent: concat!("trekmail-api/", env!("CARGO_PKG_VERSION")).to_owned(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            max_response_bytes: crate::transport::DEFAULT_MAX_RESPONSE_BYTES,
            redact: Vec::new(),
            extra_roots: Vec::new(),
        }
    }

    /// Trusts one more certificate authority (PEM), besides the system's: for an instance behind
    /// a private CA.
    pub fn root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_roots.push(pem.into());
        self
    }

    /// The bearer token (`tm_live_...` or `tm_msg_...`); one client per token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Deadline of one call, every attempt and every wait between retries included: no attempt
    /// or wait starts that would end past it. Default 30 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest answer body read, in bytes (Content-Length checked up front, bytes counted as
    /// they arrive); a larger answer fails with [`crate::CallError::TooLarge`]. Default 48 MiB.
    pub fn max_response_bytes(mut self, limit: u64) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// One more secret that must never reach a caller: if an answer contains it, it is replaced
    /// by `[redacted]`. The client's own token always is.
    pub fn redact(mut self, secret: impl Into<String>) -> Self {
        self.redact.push(secret.into());
        self
    }

    /// Timeout of establishing a connection. Default 10 s (never above the timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Retry policy; [`RetryPolicy::none`] turns retries off.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The API root: the base URL without trailing `/`, plus `/api/v1`.
    pub fn api_root(base_url: &str) -> Result<String, BuildError> {
        let trimmed = base_url.trim().trim_end_matches('/');
        let url = reqwest::Url::parse(trimmed)
            .map_err(|e| BuildError(format!("base URL {trimmed:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(BuildError(format!(
                "base URL {trimmed:?} must be an http:// or https:// URL with a host"
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(BuildError(format!(
                "base URL {trimmed:?} must not have a query or fragment"
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(BuildError("base URL must not contain credentials".into()));
        }
        Ok(format!("{trimmed}/api/v1"))
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, BuildError> {
        let token = self.token.clone();
        let redact = self.redact.clone();
        self.build_pool()?.client(token.as_deref(), &redact)
    }

    /// Builds everything but the token: the connection pool and the settings, shared by the
    /// clients of many tokens ([`Pool::client`]), e.g. one per request of a multi-user server.
    /// The builder's token and redactions are not used.
    pub fn build_pool(self) -> Result<Pool, BuildError> {
        let root = Self::api_root(&self.base_url)?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_str(&self.user_agent)
                .map_err(|_| BuildError("the user agent is not a valid header value".into()))?,
        );
        // One TLS stack: rustls with ring. Installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tls = crate::trust::client_config(&self.extra_roots).map_err(BuildError)?;
        // Redirects are never followed: one could carry the request, body and token included,
        // to another host. The transport reports a 3xx as an error naming the target host.
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.connect_timeout.min(self.timeout))
            .build()
            .map_err(|e| BuildError(format!("cannot build the HTTP client: {e}")))?;
        Ok(Pool {
            root,
            http,
            retry: self.retry,
            limits: Limits {
                deadline: self.timeout,
                max_response_bytes: self.max_response_bytes,
            },
        })
    }
}

/// The connection pool and settings of [`ClientBuilder::build_pool`]: cheap to clone, and a
/// [`Client`] for one token costs no new connection or TLS set-up.
#[derive(Clone)]
pub struct Pool {
    root: String,
    http: reqwest::Client,
    retry: RetryPolicy,
    limits: Limits,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("root", &self.root)
            .field("retry", &self.retry)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// The pool's HTTP client, without any token: redirects are never followed and the extra
    /// root certificate is trusted. For requests outside the API (presigned storage URLs),
    /// which must never carry the token.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A client sending `token` (`Authorization: Bearer …`, marked sensitive) on every request;
    /// `redact` are more secrets scrubbed from answers besides the token itself.
    pub fn client(&self, token: Option<&str>, redact: &[String]) -> Result<Client, BuildError> {
        let auth = token
            .map(|t| {
                let mut value = HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| {
                    BuildError("the token contains characters not allowed in a header".into())
                })?;
                value.set_sensitive(true);
                Ok::<_, BuildError>(value)
            })
            .transpose()?;
        let mut secrets = redact.to_vec();
        secrets.extend(token.map(str::to_owned));
        let transport = Transport::new(
            self.http.clone(),
            self.retry.clone(),
            self.limits.clone(),
            secrets,
            auth,
        );
        Ok(Client::new_with_client(
            &self.root,
            self.http.clone(),
            ClientState { transport },
        ))
    }
}

impl Client {
    /// This client for one request that carries another secret (a payment credential):
    /// `secret` is scrubbed from the answer like the token, and a failed attempt is tried
    /// again only when `retry_only_if` says the failure proves the API never received it.
    #[must_use]
    pub fn for_secret_request(
        &self,
        secret: &str,
        retry_only_if: fn(&crate::CallError) -> bool,
    ) -> Client {
        let transport = crate::transport_of(self).for_secret_request(secret, retry_only_if);
        Client::new_with_client(
            progenitor_client::ClientInfo::baseurl(self),
            progenitor_client::ClientInfo::client(self).clone(),
            ClientState { transport },
        )
    }

    /// This client for one request that must not be repeated blindly (a write whose answer
    /// carries a one-time secret): a failed attempt is tried again only when `retry_only_if`
    /// says the failure proves the API never received it. Same token and secrets.
    #[must_use]
    pub fn without_blind_retries(&self, retry_only_if: fn(&crate::CallError) -> bool) -> Client {
        let transport = crate::transport_of(self).without_blind_retries(retry_only_if);
        Client::new_with_client(
            progenitor_client::ClientInfo::baseurl(self),
            progenitor_client::ClientInfo::client(self).clone(),
            ClientState { transport },
        )
    }

    /// Scrubs `secret` from this client's later answers (and its clones'): a token that another
    /// client of the same server was given, so no answer echoes it.
    pub fn redact_also(&self, secret: &str) {
        crate::transport_of(self).redact_also(secret);
    }

    /// Sends `token` from now on in place of this client's token, from this client and every
    /// clone of it (a key the API re-issued); both stay scrubbed from answers.
    pub fn replace_token(&self, token: &str) -> Result<(), BuildError> {
        let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            BuildError("the token contains characters not allowed in a header".into())
        })?;
        value.set_sensitive(true);
        crate::transport_of(self).replace_token(token, value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_root_appends_prefix_and_ignores_trailing_slash() {
        assert_eq!(
            ClientBuilder::api_root("https://trekmail.net/").as_deref(),
            Ok("https://trekmail.net/api/v1")
        );
        assert_eq!(
            ClientBuilder::api_root("http://127.0.0.1:8080").as_deref(),
            Ok("http://127.0.0.1:8080/api/v1")
        );
        assert_eq!(
            ClientBuilder::api_root("https://x.example/base//").as_deref(),
            Ok("https://x.example/base/api/v1")
        );
    }

    #[test]
    fn api_root_rejects_what_is_not_an_http_url() {
        for bad in [
            "",
            "trekmail.net",
            "ftp://trekmail.net",
            "https://",
            "https://u:p@x.example",
            "https://x.example/?a=1",
        ] {
            let err = ClientBuilder::api_root(bad).expect_err(bad);
            assert!(!err.to_string().contains("p@"), "{err}");
        }
    }

    #[test]
    fn debug_never_shows_the_token() {
        let b = ClientBuilder::new("https://x.example").token("tm_live_secret123");
        assert!(!format!("{b:?}").contains("secret123"));
    }

    #[test]
    fn token_kinds_are_read_from_the_prefix_and_nothing_else_passes() {
        assert_eq!(TokenKind::of("tm_live_abc"), Some(TokenKind::Ops));
        assert_eq!(TokenKind::of("tm_msg_abc"), Some(TokenKind::Message));
        for bad in [
            "",
            "tm_live_",
            "tm_msg_",
            "tm_live_a b",
            "tm_msg_\u{e9}",
            "Bearer tm_live_x",
            "tm_x_abc",
        ] {
            assert_eq!(TokenKind::of(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn every_operation_names_one_token_kind_by_its_scheme() {
        // The spec's security schemes map to the kinds here and nowhere else: the server's
        // binding check and the sandbox's token check both read `from_scheme`.
        for k in [TokenKind::Ops, TokenKind::Message] {
            assert_eq!(TokenKind::from_scheme(k.scheme()), Some(k));
        }
        assert_eq!(TokenKind::from_scheme("bearerAuth"), None);
        let ops = crate::model::operations().expect("the embedded operations");
        for op in ops {
            let kinds: Vec<_> = op
                .security
                .iter()
                .map(|s| TokenKind::from_scheme(s))
                .collect();
            assert!(
                matches!(kinds.as_slice(), [Some(_)]),
                "{}: {:?}",
                op.operation_id,
                op.security
            );
        }
        assert!(
            ops.iter()
                .any(|o| o.security == [TokenKind::Message.scheme()])
        );
    }
}
