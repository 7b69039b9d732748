//! The HTTP transport's settings (`TREKMAIL_HTTP_*`), built by `config/` with the rest of the
//! configuration.

use std::net::SocketAddr;

use crate::call::tokens::Secret;

/// Where the TrekMail tokens of an HTTP server come from (`TREKMAIL_HTTP_TOKENS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenMode {
    /// The environment's tokens serve every caller; callers present the operator's bearer.
    Operator,
    /// Each request carries its caller's own TrekMail token(s); the server holds none.
    Caller,
}

/// The HTTP transport's settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `TREKMAIL_HTTP_LISTEN` / `--http`: the address to listen on, e.g. `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// `TREKMAIL_HTTP_TOKENS`: `operator` (default) or `caller`.
    pub tokens: TokenMode,
    /// `TREKMAIL_HTTP_BEARER`, or the first line of the file `TREKMAIL_HTTP_BEARER_FILE` names:
    /// the secret callers present in operator mode.
    pub bearer: Option<Secret>,
    /// `TREKMAIL_HTTP_ALLOWED_HOSTS`: the `Host` values accepted (comma-separated, `host` or
    /// `host:port`); `*` accepts any. Default: loopback names only.
    pub allowed_hosts: Option<Vec<String>>,
    /// `TREKMAIL_HTTP_ALLOWED_ORIGINS`: the browser origins accepted (`scheme://host:port`,
    /// `:*` for any port, `null`); `*` accepts any. Requests without `Origin` (non-browser clients)
    /// always pass. Default: loopback origins only.
    pub allowed_origins: Option<Vec<String>>,
    /// `TREKMAIL_HTTP_MAX_BODY_BYTES`: the largest request body read (range and default: `config/limits.rs`).
    pub max_body_bytes: usize,
    /// `TREKMAIL_HTTP_MAX_REQUESTS`: requests handled at once; more are answered 503 (range and default: `config/limits.rs`).
    pub max_requests: usize,
}

/// Loopback `Host` values, the default allow-list.
pub const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Loopback origins, the default allow-list.
pub const LOOPBACK_ORIGINS: [&str; 6] = [
    "http://localhost:*",
    "http://127.0.0.1:*",
    "http://[::1]:*",
    "https://localhost:*",
    "https://127.0.0.1:*",
    "https://[::1]:*",
];
