//! `trekmail-mcp`: the MCP server, on stdio or (`--http`) Streamable HTTP. Configuration comes from flags and the environment
//! (`--help`, README).
#![forbid(unsafe_code)]
#![deny(clippy::print_stdout)]

use std::io::Write as _;
use std::process::ExitCode;

use std::sync::Arc;
use std::time::Duration;

use rmcp::ServiceExt;
use trekmail_api::RetryPolicy;
use trekmail_mcp::call::tokens::Tokens;
use trekmail_mcp::config::{self, cli::Settings, logging};
use trekmail_mcp::serve::http_server::{self, HttpServer, settings::HttpConfig};
use trekmail_mcp::serve::{Shared, selection};
use trekmail_mcp::{Catalog, Config, TrekmailServer};

#[tokio::main]
async fn main() -> ExitCode {
    // --help and --version print on stdout and exit 0; a usage error prints on stderr, exit 2.
    let settings = match Settings::parse(std::env::args_os()) {
        Ok(s) => s,
        Err(e) => e.exit(),
    };
    logging::init(settings.get("TREKMAIL_LOG").as_deref());
    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .collect();
    for k in config::unknown_variables(names.iter().map(String::as_str)) {
        tracing::warn!("{k} is not a variable trekmail-mcp reads (misspelt?); it is ignored");
    }
    let catalog = match Catalog::embedded() {
        Ok(c) => c,
        Err(problems) => return fail("catalog", &problems),
    };
    let list_tools = settings.cli.list_tools;
    #[cfg(feature = "sandbox")]
    let embedded = {
        use trekmail_mcp::config::sandbox;
        let env = |k: &str| settings.get(k);
        if sandbox::requested(false, env) {
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
    #[cfg(not(feature = "sandbox"))]
    if settings
        .get("TREKMAIL_SANDBOX")
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1"))
    {
        return fail(
            "configuration",
            &["this build has no sandbox (feature `sandbox`)".into()],
        );
    }
    let env = |k: &str| {
        #[cfg(feature = "sandbox")]
        if let Some(s) = &embedded {
            // With caller tokens, the callers present the sandbox's tokens; none is configured.
            let caller_tokens = settings
                .get("TREKMAIL_HTTP_TOKENS")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("caller"));
            if !(caller_tokens && k.ends_with("_TOKEN")) {
                return s.env(k, |k| settings.get(k));
            }
        }
        let v = settings.get(k);
        // Listing the tools contacts nothing: the instance need not be named for it.
        if list_tools
            && k == "TREKMAIL_BASE_URL"
            && v.as_deref().is_none_or(|v| v.trim().is_empty())
        {
            return Some("https://trekmail.net".into());
        }
        v
    };
    let config = match Config::from_env(env, &catalog.toolsets()) {
        Ok(c) => c,
        Err(problems) => return fail("configuration", &problems),
    };
    if let Some(http) = config.http.clone()
        && !list_tools
    {
        if config.sends_tokens_in_the_clear() {
            tracing::warn!(
                "TREKMAIL_BASE_URL uses plain http to a remote host: tokens travel unencrypted; use https"
            );
        }
        return serve_http(&config, &http, catalog).await;
    }
    let mut server = match TrekmailServer::new(&config, catalog) {
        Ok(s) => s,
        Err(e) => {
            let problems: Vec<String> = e.lines().map(String::from).collect();
            return fail("configuration", &problems);
        }
    };
    for w in selection::warnings(&config, server.catalog(), server.listed().len()) {
        tracing::warn!("{w}");
    }
    if config.sends_tokens_in_the_clear() {
        tracing::warn!(
            "TREKMAIL_BASE_URL uses plain http to a remote host: tokens travel unencrypted; use https"
        );
    }
    // Scopes: asked once before serving, within the call deadline. --list-tools asks only when
    // the instance is named (listing otherwise contacts nothing).
    let base_url_given = settings
        .get("TREKMAIL_BASE_URL")
        .is_some_and(|v| !v.trim().is_empty());
    if config.scope_aware && (!list_tools || base_url_given) {
        match server.learn_scopes().await {
            Ok(problems) => {
                for p in problems {
                    tracing::warn!(
                        "the token's scopes could not be learnt, so every tool is listed (the API still refuses what the token lacks): {p}"
                    );
                }
            }
            Err(e) => return fail("configuration", &[e]),
        }
    }
    if list_tools {
        let mut table = selection::table(server.listed(), &config.switches());
        table.push_str(&selection::scope_hidden(server.hidden()));
        return match std::io::stdout().lock().write_all(table.as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        };
    }
    tracing::info!(tools = server.tools().len(), "serving on stdio");
    let closing = server.closing();
    trekmail_mcp::serve::stdio::watch_stdout(closing.clone());
    // Requests read and not yet answered before no new request is read: a client that stops
    // reading cannot make the server make more calls or hold more answers than this.
    let max_open = config.max_concurrent_calls * 2;
    // At the end of input the calls read are answered: each within its deadline, and one that
    // waited for a slot gets one more deadline at most.
    let drain = config.timeout * 2 + Duration::from_secs(5);
    let transport = trekmail_mcp::serve::stdio::Bounded::new(
        rmcp::transport::IntoTransport::<rmcp::RoleServer, _, _>::into_transport(
            rmcp::transport::stdio(),
        ),
        max_open,
        closing,
        drain,
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
        Err(e) => {
            let problems: Vec<String> = e.lines().map(String::from).collect();
            return fail("configuration", &problems);
        }
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
