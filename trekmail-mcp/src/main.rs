//! `trekmail-mcp`: the stdio MCP server. Configuration comes from the environment (see README).
#![forbid(unsafe_code)]
#![deny(clippy::print_stdout)]

use std::io::Write as _;
use std::process::ExitCode;

use rmcp::ServiceExt;
use trekmail_mcp::{Catalog, Config, TrekmailServer, logging};

const HELP: &str = "trekmail-mcp: MCP server (stdio) for the TrekMail API v1.

Configure it with environment variables (see README.md):
  TREKMAIL_BASE_URL (required), TREKMAIL_API_TOKEN and/or TREKMAIL_MESSAGE_TOKEN,
  TREKMAIL_TIMEOUT_MS, TREKMAIL_MAX_RESPONSE_BYTES, TREKMAIL_MAX_CONCURRENT_CALLS,
  TREKMAIL_USER_AGENT, TREKMAIL_ALLOW_DESTRUCTIVE,
  TREKMAIL_ALLOW_SENDING, TREKMAIL_ALLOW_MIGRATION, TREKMAIL_TOOLSETS,
  TREKMAIL_READ_ONLY, TREKMAIL_LOG, TREKMAIL_CA_CERT.

Options: --sandbox (or TREKMAIL_SANDBOX=true: try every tool on an in-process emulation,
  no account needed), --help, --version
";

#[tokio::main]
async fn main() -> ExitCode {
    // Help and version are the only output that is not the protocol; both go to stderr so stdout
    // never carries anything but JSON-RPC.
    match std::env::args().nth(1).as_deref() {
        Some("--help" | "-h") => {
            let _ = std::io::stderr().write_all(HELP.as_bytes());
            return ExitCode::SUCCESS;
        }
        Some("--version" | "-V") => {
            let _ = writeln!(
                std::io::stderr(),
                "trekmail-mcp {}",
                env!("CARGO_PKG_VERSION")
            );
            return ExitCode::SUCCESS;
        }
        Some("--sandbox") if cfg!(feature = "sandbox") => {}
        Some(other) => {
            let _ = writeln!(
                std::io::stderr(),
                "trekmail-mcp: unknown argument {other:?}; configuration is by environment (--help)"
            );
            return ExitCode::from(2);
        }
        None => {}
    }
    logging::init(std::env::var("TREKMAIL_LOG").ok().as_deref());
    let catalog = match Catalog::embedded() {
        Ok(c) => c,
        Err(problems) => return fail("catalog", &problems),
    };
    #[cfg(feature = "sandbox")]
    let embedded = {
        use trekmail_mcp::sandbox;
        let env = |k: &str| std::env::var(k).ok();
        if sandbox::requested(std::env::args().nth(1).as_deref() == Some("--sandbox"), env) {
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
    #[cfg(feature = "sandbox")]
    let env = |k: &str| match &embedded {
        Some(s) => s.env(k, |k| std::env::var(k).ok()),
        None => std::env::var(k).ok(),
    };
    #[cfg(not(feature = "sandbox"))]
    let env = |k: &str| std::env::var(k).ok();
    let config = match Config::from_env(env, &catalog.toolsets()) {
        Ok(c) => c,
        Err(problems) => return fail("configuration", &problems),
    };
    let server = match TrekmailServer::new(&config, catalog) {
        Ok(s) => s,
        Err(e) => return fail("configuration", &[e]),
    };
    if config.sends_tokens_in_the_clear() {
        tracing::warn!(
            "TREKMAIL_BASE_URL uses plain http to a remote host: tokens travel unencrypted; use https"
        );
    }
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

fn fail(what: &str, problems: &[String]) -> ExitCode {
    let mut err = std::io::stderr().lock();
    for p in problems {
        let _ = writeln!(err, "trekmail-mcp: {what}: {p}");
    }
    ExitCode::from(2)
}
