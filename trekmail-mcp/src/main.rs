//! `trekmail-mcp`: the MCP server, on stdio or (`--http`) Streamable HTTP. Configuration comes
//! from flags and the environment (`--help`, docs/configuration.md).
#![deny(unsafe_code)]
#![deny(clippy::print_stdout)]

use std::io::Write as _;
use std::process::ExitCode;

use trekmail_mcp::config::start::{self, Stop};
use trekmail_mcp::serve::run::{self, Failure};

fn main() -> ExitCode {
    // --help and --version print on stdout and exit 0; a usage error prints on stderr, exit 2.
    let settings = match start::settings(std::env::args_os()) {
        Ok(s) => s,
        Err(Stop::Usage(e)) => e.exit(),
        Err(Stop::Failed(f)) => return fail(&f),
    };
    // Over stdio one client waits on the API: one thread serves it, with no worker threads to
    // start (start-up time, memory). HTTP serves many clients at once: a worker per core.
    let runtime = if start::serves_http(&settings) {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    }
    .enable_all()
    .build();
    match runtime {
        // Boxed: the serving future is tens of kilobytes, and on the stack every move of it
        // (into block_on, into its task) would leave another copy's pages resident.
        Ok(r) => {
            let code = r.block_on(Box::pin(serve(settings)));
            // Served: whatever a blocking thread still does is a write nobody reads (a client
            // that stopped reading stdout). Dropping the runtime would wait for it forever.
            r.shutdown_timeout(std::time::Duration::from_secs(1));
            code
        }
        Err(e) => fail(&Failure::new("startup", vec![e.to_string()])),
    }
}

async fn serve(settings: trekmail_mcp::config::cli::Settings) -> ExitCode {
    let started = match start::start(settings).await {
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

/// The one function of the C maths library the binary calls (`pow`, in tokio's multi-thread
/// scheduler statistics), defined here from the `libm` crate: the linker then drops libm.so, so
/// no start loads and relocates a whole library for it (about 0.3 MB of resident memory).
#[allow(unsafe_code)] // exporting an unmangled C symbol is an unsafe attribute
#[unsafe(no_mangle)]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

fn fail(f: &Failure) -> ExitCode {
    let mut err = std::io::stderr().lock();
    for p in &f.problems {
        let _ = writeln!(err, "trekmail-mcp: {}: {p}", f.what);
    }
    ExitCode::from(f.code)
}
