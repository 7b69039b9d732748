//! Start-up: the command line and the environment read once (flags win over variables), the
//! logging set up, the embedded sandbox started when asked for, and the typed configuration
//! built, every problem named.

use std::io::Write as _;

use crate::catalog::Catalog;
use crate::config::cli::Settings;
use crate::config::{limits, logging, unknown_variables};
use crate::serve::Config;
use crate::serve::run::Failure;

/// What the process serves with.
pub struct Started {
    /// The configuration.
    pub config: Config,
    /// The catalogue of this build.
    pub catalog: Catalog,
    /// `--list-tools`: print the tools and exit.
    pub list_tools: bool,
    /// Whether `TREKMAIL_BASE_URL` was given (listing the tools contacts the API only then).
    pub base_url_given: bool,
    /// The embedded sandbox, kept running while the server serves.
    #[cfg(feature = "sandbox")]
    pub sandbox: Option<crate::config::sandbox::Embedded>,
}

/// Why start-up stops.
pub enum Stop {
    /// Help, version or a usage error: clap prints it and exits.
    Usage(clap::Error),
    /// A problem to print, with its exit status.
    Failed(Failure),
}

/// Reads `args` (the program name first) and the process environment: clap's answer
/// (help, version or a usage error) or the settings [`start`] starts from.
pub fn settings<I, T>(args: I) -> Result<Settings, Stop>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Settings::parse(args).map_err(Stop::Usage)
}

/// Whether `settings` serve Streamable HTTP (many clients at once) rather than stdio or the
/// tool list (one client, one thread is enough).
pub fn serves_http(settings: &Settings) -> bool {
    !settings.cli.list_tools
        && settings
            .get("TREKMAIL_HTTP_LISTEN")
            .is_some_and(|v| !v.trim().is_empty())
}

/// Whether `TREKMAIL_SANDBOX` (or `--sandbox`) asks for the embedded sandbox. It is read before
/// the configuration: a value that is not true/false means no sandbox, and the configuration
/// then reports what is missing.
pub fn sandbox_requested(get: impl Fn(&str) -> Option<String>) -> bool {
    let value = get(limits::SANDBOX.var).filter(|v| !v.trim().is_empty());
    limits::SANDBOX.read(value, &mut Vec::new())
}

/// Starts from `settings` into a [`Started`].
pub async fn start(settings: Settings) -> Result<Started, Stop> {
    logging::init(settings.get(limits::LOG.var).as_deref());
    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .collect();
    for k in unknown_variables(names.iter().map(String::as_str)) {
        tracing::warn!("{k} is not a variable trekmail-mcp reads (misspelt?); it is ignored");
    }
    let catalog = match Catalog::embedded() {
        Ok(c) => c,
        Err(problems) => return Err(Stop::Failed(Failure::new("catalog", problems))),
    };
    let list_tools = settings.cli.list_tools;
    #[cfg(feature = "sandbox")]
    let embedded = {
        use crate::config::sandbox;
        let env = |k: &str| settings.get(k);
        if sandbox_requested(env) {
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
                Err(e) => return Err(Stop::Failed(Failure::new("sandbox", vec![e]))),
            }
        } else {
            None
        }
    };
    #[cfg(not(feature = "sandbox"))]
    if sandbox_requested(|k| settings.get(k)) {
        return Err(Stop::Failed(Failure::new(
            "configuration",
            vec!["this build has no sandbox (feature `sandbox`)".into()],
        )));
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
        Err(problems) => return Err(Stop::Failed(Failure::new("configuration", problems))),
    };
    let base_url_given = settings
        .get("TREKMAIL_BASE_URL")
        .is_some_and(|v| !v.trim().is_empty());
    Ok(Started {
        config,
        catalog,
        list_tools,
        base_url_given,
        #[cfg(feature = "sandbox")]
        sandbox: embedded,
    })
}
