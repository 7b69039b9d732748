//! Logs go to stderr (stdout belongs to JSON-RPC), at `TREKMAIL_LOG` level (default `info`).
//! Nothing logs tokens or bodies.

use tracing::level_filters::LevelFilter;

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

/// Installs the stderr subscriber.
pub fn init(level_name: Option<&str>) {
    let level = level_name.and_then(level).unwrap_or(LevelFilter::INFO);
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}
