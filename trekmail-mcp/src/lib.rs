//! MCP server exposing the TrekMail API v1 to AI agents.
//!
//! Tools are data: [`catalog`] binds `tools-map.toml` to the operations of the OpenAPI document
//! (through the generated `trekmail-api` client), [`schema`] derives each input schema, and
//! [`call`] runs every call through the same steps: [`checks`], [`gates`], confirmation,
//! [`idempotency`] key, the generated operation, and [`results`] for what the agent sees.
#![forbid(unsafe_code)]
#![deny(clippy::print_stdout)]

pub mod argpath;
pub mod call;
pub mod catalog;
pub mod checks;
pub mod cli;
pub mod config;
pub mod files;
pub mod gates;
pub mod hostguard;
pub mod http_server;
pub mod human;
pub mod idempotency;
pub mod instructions;
pub mod logging;
pub mod map;
pub mod output;
pub mod outside;
pub mod progress;
pub mod results;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod schema;
pub mod selection;
pub mod server;
pub mod stdio;
pub mod validate;
pub mod wire;

pub use catalog::Catalog;
pub use config::Config;
pub use server::TrekmailServer;
