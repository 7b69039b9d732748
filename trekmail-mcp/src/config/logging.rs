//! Logs go to stderr (stdout belongs to JSON-RPC), at `TREKMAIL_LOG` level (default: `limits::LOG`) for
//! this project's crates. Other crates log warnings and errors only: at debug level rmcp prints
//! whole JSON-RPC messages, arguments (passwords) included. Nothing here logs tokens or bodies.

use tracing::level_filters::LevelFilter;

use crate::config::limits;

/// Parses a level name.
pub fn level(name: &str) -> Option<LevelFilter> {
    match name.trim().to_ascii_lowercase().as_str() {
        "error" => Some(LevelFilter::ERROR),
        "warn" => Some(LevelFilter::WARN),
        "info" => Some(LevelFilter::INFO),
        "debug" => Some(LevelFilter::DEBUG),
        "trace" => Some(LevelFilter::TRACE),
        "off" => Some(LevelFilter::OFF),
        _ => None,
    }
}

/// The level of `TREKMAIL_LOG`'s value `name`: the declared default when unset or unreadable
/// (the configuration then names the problem).
pub fn filter(name: Option<&str>) -> LevelFilter {
    name.and_then(level)
        .or_else(|| level(limits::LOG.default))
        // Never: the declared default is a level (tested).
        .unwrap_or(LevelFilter::INFO)
}

/// Installs the stderr subscriber.
pub fn init(level_name: Option<&str>) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let level = filter(level_name);
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("trekmail_mcp", level)
        .with_target("trekmail_api", level)
        .with_default(level.min(LevelFilter::WARN));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(|| crate::call::stderr::LogWriter)
        .with_ansi(false)
        .with_target(false);
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .try_init();
}
