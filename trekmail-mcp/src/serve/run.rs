//! Serving, start to end: build the server for a configuration, then serve it on stdio or over
//! HTTP until the input ends or a stop signal comes (or print the tool list and return).

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use rmcp::ServiceExt;
use trekmail_api::RetryPolicy;

use crate::call::audit::AuditLog;
use crate::call::tokens::Tokens;
use crate::catalog::Catalog;
use crate::serve::http_server::{self, HttpServer, settings::HttpConfig};
use crate::serve::{Config, Shared, TrekmailServer, selection};

/// Why the process stops: what failed and its problems, which `main` prints one a line on
/// stderr, and the exit status.
#[derive(Debug)]
pub struct Failure {
    /// The stage: `configuration`, `startup`, `server`, ...
    pub what: &'static str,
    /// One a line.
    pub problems: Vec<String>,
    /// The process's exit status.
    pub code: u8,
}

impl Failure {
    /// A failure of `what`, exit status 2.
    pub fn new(what: &'static str, problems: Vec<String>) -> Self {
        Self {
            what,
            problems,
            code: 2,
        }
    }
}

/// Serves `catalog` on stdio for `config` until the input ends; with `list_tools`, prints the
/// tools it would serve instead. `base_url_given`: the instance was named (the scopes are then
/// learnt for the list too).
pub async fn stdio(
    config: &Config,
    catalog: Catalog,
    list_tools: bool,
    base_url_given: bool,
) -> Result<(), Failure> {
    let mut server = match TrekmailServer::new(config, catalog) {
        Ok(s) => s,
        Err(e) => {
            let problems: Vec<String> = e.lines().map(String::from).collect();
            return Err(Failure::new("configuration", problems));
        }
    };
    for w in selection::warnings(config, server.catalog(), server.listed().len()) {
        tracing::warn!("{w}");
    }
    if config.sends_tokens_in_the_clear() {
        tracing::warn!(
            "TREKMAIL_BASE_URL uses plain http to a remote host: tokens travel unencrypted; use https"
        );
    }
    // Scopes: asked once, within the call deadline. --list-tools asks only when the instance is
    // named (listing otherwise contacts nothing); serving asks at the first request that needs
    // them, so `initialize` is answered without waiting for the API.
    if config.scope_aware && !list_tools {
        server.learn_scopes_later();
    } else if config.scope_aware && base_url_given {
        match server.learn_scopes().await {
            Ok(problems) => crate::serve::scopes::warn_unlearnt(&problems),
            Err(e) => return Err(Failure::new("configuration", vec![e])),
        }
    }
    if list_tools {
        let mut table = selection::table(server.listed(), &config.switches());
        table.push_str(&selection::scope_hidden(server.hidden()));
        // A closed stdout fails quietly, with status 1.
        return std::io::stdout()
            .lock()
            .write_all(table.as_bytes())
            .map_err(|_| Failure {
                what: "output",
                problems: Vec::new(),
                code: 1,
            });
    }
    reopen_on_hangup(server.audit_log());
    tracing::info!(tools = server.listed().len(), "serving on stdio");
    let closing = server.closing();
    crate::serve::stdio::watch_stdout(closing.clone());
    // Requests read and not yet answered before no new request is read: a client that stops
    // reading cannot make the server make more calls or hold more answers than this.
    let max_open = config.max_concurrent_calls * 2;
    // At the end of input the calls read are answered: each within its deadline, and one that
    // waited for a slot gets one more deadline at most.
    let drain = config.timeout * 2 + Duration::from_secs(5);
    // Messages are read by the transport itself (each line scanned before it is parsed) and
    // written as they are serialized (`stdout`).
    let transport = crate::serve::stdio::Bounded::new(
        tokio::io::BufReader::new(crate::serve::stdio::stdin()),
        crate::serve::stdio::Hangup::stdin(),
        crate::serve::stdout::Lines::stdout(),
        max_open,
        closing,
        drain,
    );
    let service = match server.serve(transport).await {
        Ok(s) => s,
        Err(e) => return Err(Failure::new("startup", vec![e.to_string()])),
    };
    match service.waiting().await {
        Ok(_) => Ok(()),
        Err(e) => Err(Failure::new("server", vec![e.to_string()])),
    }
}

/// Serves MCP Streamable HTTP with `http`'s settings until SIGTERM or Ctrl-C.
pub async fn http(config: &Config, http: &HttpConfig, catalog: Catalog) -> Result<(), Failure> {
    if config.sends_tokens_in_the_clear() {
        tracing::warn!(
            "TREKMAIL_BASE_URL uses plain http to a remote host: tokens travel unencrypted; use https"
        );
    }
    if config.upload_dir.is_some() {
        tracing::warn!(
            "TREKMAIL_UPLOAD_DIR has no effect over HTTP: the tools that read the server's disk exist over stdio only"
        );
    }
    let shared = match Shared::new(
        config,
        catalog,
        RetryPolicy::default(),
        http_server::source(http.tokens),
    ) {
        Ok(s) => s,
        Err(e) => {
            let problems: Vec<String> = e.lines().map(String::from).collect();
            return Err(Failure::new("configuration", problems));
        }
    };
    reopen_on_hangup(shared.audit_log());
    let tokens = Tokens {
        ops: config.ops_token.clone(),
        message: config.message_token.clone(),
    };
    let mut server = match HttpServer::new(http, shared, &tokens) {
        Ok(s) => s,
        Err(e) => return Err(Failure::new("configuration", vec![e])),
    };
    if config.scope_aware {
        match server.learn_operator_scopes().await {
            Ok(problems) => crate::serve::scopes::warn_unlearnt(&problems),
            Err(e) => return Err(Failure::new("configuration", vec![e])),
        }
    }
    let server = Arc::new(server);
    let listener = match tokio::net::TcpListener::bind(http.listen).await {
        Ok(l) => l,
        Err(e) => {
            return Err(Failure::new(
                "startup",
                vec![format!("cannot listen on {}: {e}", http.listen)],
            ));
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
    Ok(())
}

/// Reopens the audit log at its path on every SIGHUP (what log rotation sends after moving the
/// file away).
fn reopen_on_hangup(log: Option<Arc<AuditLog>>) {
    let Some(log) = log else {
        return;
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::hangup()) {
            Ok(mut hup) => {
                tokio::spawn(async move {
                    while hup.recv().await.is_some() {
                        log.reopen();
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "SIGHUP cannot be caught: the audit log will not be reopened");
            }
        }
    }
    #[cfg(not(unix))]
    drop(log);
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
