//! `trekmail-mcp`: the MCP server, on stdio or (`--http`) Streamable HTTP. Configuration comes from the environment (see README).
#![forbid(unsafe_code)]
#![deny(clippy::print_stdout)]

use std::io::Write as _;
use std::process::ExitCode;

use std::sync::Arc;
use std::time::Duration;

use rmcp::ServiceExt;
use trekmail_api::RetryPolicy;
use trekmail_mcp::http_server::{self, HttpServer, settings::HttpConfig};
use trekmail_mcp::server::{Shared, Tokens};
use trekmail_mcp::{Catalog, Config, TrekmailServer, logging};

const HELP: &str = "trekmail-mcp: MCP server (stdio, or Streamable HTTP with --http) for the TrekMail API v1.

Configure it with environment variables (see README.md):
  TREKMAIL_BASE_URL (required), TREKMAIL_API_TOKEN and/or TREKMAIL_MESSAGE_TOKEN,
  TREKMAIL_TIMEOUT_MS, TREKMAIL_MAX_RESPONSE_BYTES, TREKMAIL_MAX_CONCURRENT_CALLS,
  TREKMAIL_USER_AGENT, TREKMAIL_ALLOW_DESTRUCTIVE,
  TREKMAIL_ALLOW_SENDING, TREKMAIL_ALLOW_MIGRATION, TREKMAIL_TOOLSETS,
  TREKMAIL_READ_ONLY, TREKMAIL_LOG, TREKMAIL_CA_CERT.

HTTP (see README, \"Serving over HTTP\"): TREKMAIL_HTTP_LISTEN (or --http ADDR),
  TREKMAIL_HTTP_TOKENS (or --http-tokens operator|caller), TREKMAIL_HTTP_BEARER,
  TREKMAIL_HTTP_BEARER_FILE, TREKMAIL_HTTP_ALLOWED_HOSTS, TREKMAIL_HTTP_ALLOWED_ORIGINS,
  TREKMAIL_HTTP_MAX_BODY_BYTES, TREKMAIL_HTTP_MAX_REQUESTS.

Options: --http ADDR, --http-tokens MODE, --sandbox (or TREKMAIL_SANDBOX=true: try every tool on an in-process emulation,
  no account needed), --help, --version
";

/// What the command line asks for; flags win over their variables.
#[derive(Default)]
struct Args {
    sandbox: bool,
    /// `--http ADDR` (`TREKMAIL_HTTP_LISTEN`).
    http: Option<String>,
    /// `--http-tokens operator|caller` (`TREKMAIL_HTTP_TOKENS`).
    http_tokens: Option<String>,
}

fn parse_args() -> Result<Option<Args>, ExitCode> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (a.clone(), None),
        };
        match flag.as_str() {
            "--help" | "-h" => {
                let _ = std::io::stderr().write_all(HELP.as_bytes());
                return Ok(None);
            }
            "--version" | "-V" => {
                let _ = writeln!(
                    std::io::stderr(),
                    "trekmail-mcp {}",
                    env!("CARGO_PKG_VERSION")
                );
                return Ok(None);
            }
            "--sandbox" if cfg!(feature = "sandbox") => args.sandbox = true,
            "--http" | "--http-tokens" => {
                let Some(v) = inline.or_else(|| it.next()) else {
                    let _ = writeln!(std::io::stderr(), "trekmail-mcp: {flag} needs a value");
                    return Err(ExitCode::from(2));
                };
                if flag == "--http" {
                    args.http = Some(v);
                } else {
                    args.http_tokens = Some(v);
                }
            }
            other => {
                let _ = writeln!(
                    std::io::stderr(),
                    "trekmail-mcp: unknown argument {other:?}; configuration is by environment (--help)"
                );
                return Err(ExitCode::from(2));
            }
        }
    }
    Ok(Some(args))
}

#[tokio::main]
async fn main() -> ExitCode {
    // Help and version are the only output that is not the protocol; both go to stderr so stdout
    // never carries anything but JSON-RPC.
    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => return ExitCode::SUCCESS,
        Err(code) => return code,
    };
    let process_env = |k: &str| match k {
        "TREKMAIL_HTTP_LISTEN" if args.http.is_some() => args.http.clone(),
        "TREKMAIL_HTTP_TOKENS" if args.http_tokens.is_some() => args.http_tokens.clone(),
        _ => std::env::var(k).ok(),
    };
    logging::init(process_env("TREKMAIL_LOG").as_deref());
    let catalog = match Catalog::embedded() {
        Ok(c) => c,
        Err(problems) => return fail("catalog", &problems),
    };
    #[cfg(feature = "sandbox")]
    let embedded = {
        use trekmail_mcp::sandbox;
        let env = process_env;
        if sandbox::requested(args.sandbox, env) {
            for k in sandbox::ignored(env) {
                tracing::warn!("{k} is ignored: the sandbox replaces it");
            }
            match sandbox::start().await {
                Ok(s) => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "trekmail-mcp: SANDBOX: serving against an in-memory emulation at {}/api/v1; nothing real happens",
                        s.base_url
                    );
                    Some(s)
                }
                Err(e) => return fail("sandbox", &[e]),
            }
        } else {
            None
        }
    };
    // With caller tokens, the sandbox's tokens are presented by the callers, not configured.
    #[cfg(feature = "sandbox")]
    let caller_tokens = process_env("TREKMAIL_HTTP_TOKENS")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("caller"));
    #[cfg(feature = "sandbox")]
    let env = |k: &str| match &embedded {
        Some(_) if caller_tokens && k.ends_with("_TOKEN") => process_env(k),
        Some(s) => s.env(k, process_env),
        None => process_env(k),
    };
    #[cfg(not(feature = "sandbox"))]
    let env = process_env;
    let config = match Config::from_env(env, &catalog.toolsets()) {
        Ok(c) => c,
        Err(problems) => return fail("configuration", &problems),
    };
    if config.sends_tokens_in_the_clear() {
        tracing::warn!(
            "TREKMAIL_BASE_URL uses plain http to a remote host: tokens travel unencrypted; use https"
        );
    }
    if let Some(http) = &config.http {
        return serve_http(&config, http, catalog).await;
    }
    let server = match TrekmailServer::new(&config, catalog) {
        Ok(s) => s,
        Err(e) => return fail("configuration", &[e]),
    };
    tracing::info!(tools = server.tools().len(), "serving on stdio");
    let closing = server.closing();
    // Requests read and not yet answered before no new request is read: a client that stops
    // reading cannot make the server make more calls or hold more answers than this.
    let max_open = config.max_concurrent_calls * 2;
    let transport = trekmail_mcp::stdio::Bounded::new(
        rmcp::transport::IntoTransport::<rmcp::RoleServer, _, _>::into_transport(
            rmcp::transport::stdio(),
        ),
        max_open,
        closing,
    );
    let service = match server.serve(transport).await {
        Ok(s) => s,
        Err(e) => return fail("startup", &[e.to_string()]),
    };
    match service.waiting().await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => fail("server", &[e.to_string()]),
    }
}

async fn serve_http(config: &Config, http: &HttpConfig, catalog: Catalog) -> ExitCode {
    let shared = match Shared::new(
        config,
        catalog,
        RetryPolicy::default(),
        http_server::source(http.tokens),
    ) {
        Ok(s) => s,
        Err(e) => return fail("configuration", &[e]),
    };
    let tokens = Tokens {
        ops: config.ops_token.clone(),
        message: config.message_token.clone(),
    };
    let server = match HttpServer::new(http, shared, &tokens) {
        Ok(s) => Arc::new(s),
        Err(e) => return fail("configuration", &[e]),
    };
    let listener = match tokio::net::TcpListener::bind(http.listen).await {
        Ok(l) => l,
        Err(e) => {
            return fail(
                "startup",
                &[format!("cannot listen on {}: {e}", http.listen)],
            );
        }
    };
    let addr = listener
        .local_addr()
        .map_or_else(|_| http.listen.to_string(), |a| a.to_string());
    if !http.listen.ip().is_loopback() && http.allowed_hosts.is_none() {
        tracing::warn!(
            "only loopback Host headers are accepted: set TREKMAIL_HTTP_ALLOWED_HOSTS to the names clients use to reach this server"
        );
    }
    tracing::info!(%addr, tokens = ?http.tokens, "serving MCP Streamable HTTP at http://{addr}{}", http_server::MCP_PATH);
    // A call cannot outlast its deadline; a little more lets the last answers be written.
    let drain = config.timeout + Duration::from_secs(5);
    server.serve(listener, stop_signal(), drain).await;
    ExitCode::SUCCESS
}

/// SIGTERM (how service managers and orchestrators stop a process) or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn fail(what: &str, problems: &[String]) -> ExitCode {
    let mut err = std::io::stderr().lock();
    for p in problems {
        let _ = writeln!(err, "trekmail-mcp: {what}: {p}");
    }
    ExitCode::from(2)
}
