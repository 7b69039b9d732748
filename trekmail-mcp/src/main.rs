//! `trekmail-mcp`: the MCP server, on stdio or (`--http`) Streamable HTTP. Configuration comes
//! from flags and the environment (`--help`, docs/configuration.md).
#![forbid(unsafe_code)]
#![deny(clippy::print_stdout)]

use std::io::Write as _;
use std::process::ExitCode;

use trekmail_mcp::config::start::{Stop, start};
use trekmail_mcp::serve::run::{self, Failure};

#[tokio::main]
async fn main() -> ExitCode {
    // --help and --version print on stdout and exit 0; a usage error prints on stderr, exit 2.
    let started = match start(std::env::args_os()).await {
        Ok(s) => s,
        Err(Stop::Usage(e)) => e.exit(),
        Err(Stop::Failed(f)) => return fail(&f),
    };
    let served = match &started.config.http {
        Some(http) if !started.list_tools => {
            run::http(&started.config, http, started.catalog).await
        }
        _ => {
            run::stdio(
                &started.config,
                started.catalog,
                started.list_tools,
                started.base_url_given,
            )
            .await
        }
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => fail(&f),
    }
}

fn fail(f: &Failure) -> ExitCode {
    let mut err = std::io::stderr().lock();
    for p in &f.problems {
        let _ = writeln!(err, "trekmail-mcp: {}: {p}", f.what);
    }
    ExitCode::from(f.code)
}
