//! Floor 3, the server shell: the MCP handler, which tools a configuration lists, the
//! instructions, and the transports (stdio, Streamable HTTP).
//!
//! May import: `catalog/` and `call/`. Not `config/`: the settings it runs with
//! (`Config`, `HttpConfig`) are its own types, built there.

pub mod http_server;
pub mod instructions;
pub mod json_bound;
pub mod lines;
pub mod run;
pub mod scopes;
pub mod selection;
pub(crate) mod server;
pub(crate) mod settings;
#[cfg(unix)]
pub mod std_stream;
pub mod stdio;
pub mod stdout;

pub use server::{Shared, TrekmailServer};
pub use settings::Config;
