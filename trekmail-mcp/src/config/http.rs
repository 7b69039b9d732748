//! The HTTP transport's settings (`TREKMAIL_HTTP_*`) read from the environment, with the rest
//! of the configuration.

use std::net::SocketAddr;

use crate::call::tokens::Secret;
use crate::config::limits;
use crate::serve::http_server::settings::{HttpConfig, TokenMode};

/// The shortest operator bearer accepted: a guessable secret is no secret.
pub const MIN_BEARER_LEN: usize = 16;

impl HttpConfig {
    /// Reads the settings through `get` (empty values already count as unset), or `None`
    /// when `TREKMAIL_HTTP_LISTEN` is unset (stdio). Problems name their variable.
    pub fn from_env(
        get: &impl Fn(&str) -> Option<String>,
        problems: &mut Vec<String>,
    ) -> Option<Self> {
        let listen = get("TREKMAIL_HTTP_LISTEN")?;
        let listen = match listen.trim().parse::<SocketAddr>() {
            Ok(a) => a,
            Err(_) => {
                problems.push(format!(
                    "TREKMAIL_HTTP_LISTEN (--http) must be an IP address and port, e.g. 127.0.0.1:8080 or [::]:8080, got {listen:?}"
                ));
                return None;
            }
        };
        let tokens = limits::HTTP_TOKENS.read(get(limits::HTTP_TOKENS.var));
        let tokens = match tokens.trim() {
            v if v.eq_ignore_ascii_case("operator") => TokenMode::Operator,
            v if v.eq_ignore_ascii_case("caller") => TokenMode::Caller,
            v => {
                problems.push(format!(
                    "TREKMAIL_HTTP_TOKENS must be operator or caller, got {v:?}"
                ));
                TokenMode::Operator
            }
        };
        let bearer = match (
            get("TREKMAIL_HTTP_BEARER"),
            get("TREKMAIL_HTTP_BEARER_FILE"),
        ) {
            (Some(_), Some(_)) => {
                problems
                    .push("set TREKMAIL_HTTP_BEARER or TREKMAIL_HTTP_BEARER_FILE, not both".into());
                None
            }
            (Some(v), None) => bearer("TREKMAIL_HTTP_BEARER", &v, problems),
            (None, Some(path)) => match std::fs::read_to_string(path.trim()) {
                Ok(text) => bearer(
                    "TREKMAIL_HTTP_BEARER_FILE",
                    text.lines().next().unwrap_or(""),
                    problems,
                ),
                Err(e) => {
                    problems.push(format!(
                        "TREKMAIL_HTTP_BEARER_FILE: cannot read {path:?}: {e}"
                    ));
                    None
                }
            },
            (None, None) => None,
        };
        match tokens {
            TokenMode::Caller if bearer.is_some() => problems.push(
                "TREKMAIL_HTTP_BEARER is for operator mode: with TREKMAIL_HTTP_TOKENS=caller the Authorization header carries each caller's TrekMail token".into(),
            ),
            TokenMode::Operator if bearer.is_none() && !listen.ip().is_loopback() => problems.push(format!(
                "refusing to serve the operator's tokens on {listen} (not a loopback address) without TREKMAIL_HTTP_BEARER or TREKMAIL_HTTP_BEARER_FILE: anyone who reaches the port could use them"
            )),
            _ => {}
        }
        let list = |name: &str| {
            get(name).map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            })
        };
        // Unset stays unset: the server applies `limits::HTTP_ALLOWED_*`'s defaults.
        let allowed_hosts = list(limits::HTTP_ALLOWED_HOSTS.var);
        let allowed_origins = list(limits::HTTP_ALLOWED_ORIGINS.var);
        for (name, l) in [
            ("TREKMAIL_HTTP_ALLOWED_HOSTS", &allowed_hosts),
            ("TREKMAIL_HTTP_ALLOWED_ORIGINS", &allowed_origins),
        ] {
            if l.as_ref()
                .is_some_and(|l| l.len() > 1 && l.iter().any(|x| x == "*"))
            {
                problems.push(format!("{name}: `*` stands alone (it accepts any value)"));
            }
        }
        if let Some(origins) = &allowed_origins {
            for o in origins.iter().filter(|o| *o != "*" && *o != "null") {
                let authority = o
                    .strip_prefix("http://")
                    .or_else(|| o.strip_prefix("https://"));
                // The port is required (`:443`, or `:*` for any): rmcp reads an origin without
                // one as any port today and will read it as the default port later.
                let has_port = authority.is_some_and(|a| {
                    let host_end = a.rfind(']').map_or(0, |i| i + 1);
                    a[host_end..].contains(':')
                });
                if !has_port {
                    problems.push(format!(
                        "TREKMAIL_HTTP_ALLOWED_ORIGINS: {o:?} must be scheme://host:port, e.g. https://app.example.com:443 (or :* for any port)"
                    ));
                }
            }
        }
        let mut number = |n: limits::Number| n.read(get(n.var), problems);
        let max_body_bytes =
            usize::try_from(number(limits::HTTP_MAX_BODY_BYTES)).unwrap_or(usize::MAX);
        let max_requests = usize::try_from(number(limits::HTTP_MAX_REQUESTS)).unwrap_or(usize::MAX);
        Some(Self {
            listen,
            tokens,
            bearer,
            allowed_hosts,
            allowed_origins,
            max_body_bytes,
            max_requests,
        })
    }
}

fn bearer(name: &str, value: &str, problems: &mut Vec<String>) -> Option<Secret> {
    let v = value.trim();
    // Never echo the value: say only what is wrong with it.
    if v.len() < MIN_BEARER_LEN || !v.bytes().all(|b| b.is_ascii_graphic()) {
        problems.push(format!(
            "{name} must be at least {MIN_BEARER_LEN} printable ASCII characters without spaces"
        ));
        return None;
    }
    Some(Secret::new(v))
}
