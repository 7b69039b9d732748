//! MCP server exposing the TrekMail API v1 to AI agents, in four floors read top to bottom, each
//! importing only from the floors before it:
//!
//! 1. [`catalog`]: `tools-map.toml` bound to the operations of the OpenAPI document (through
//!    the generated `trekmail-api` client), with each tool's schemas and argument checks;
//! 2. [`call`]: every call through the same steps: checks, gates, confirmation, idempotency
//!    key, the generated operation, and the result the agent sees;
//! 3. [`serve`]: the MCP handler, the listing and the transports (stdio, HTTP);
//! 4. [`config`]: the command line and the environment, read into the settings of the others.
#![forbid(unsafe_code)]
#![deny(clippy::print_stdout)]

pub mod call;
pub mod catalog;
pub mod config;
pub mod serve;

pub use catalog::Catalog;
pub use serve::{Config, TrekmailServer};
