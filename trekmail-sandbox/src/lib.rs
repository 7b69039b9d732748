//! An embedded TrekMail sandbox: a stateful, in-memory emulation of the TrekMail API v1 at
//! `/api/v1`, for trying the MCP server and the Rust client without an account.
//!
//! Routes and request checks come from the OpenAPI document (through the operations that
//! `trekmail-api` embeds, read in one module); the store and each resource's behaviour are
//! written by hand. One store per [`Sandbox`]; nothing is written to disk.
//!
//! Tokens: any bearer token starting `tm_live_` reaches the ops endpoints, `tm_msg_` the message
//! endpoints (the mailbox `alice@example.com`, unless the token was made by
//! `create_message_token`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), String> {
//! let running = trekmail_sandbox::Sandbox::new()?.start("127.0.0.1:0").await?;
//! println!("TREKMAIL_BASE_URL={}", running.base_url());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod server;
pub mod spec;
mod store;
mod zip;

pub use server::{Running, Sandbox};

/// The ops token the embedded sandbox hands out (any `tm_live_…` works).
pub const OPS_TOKEN: &str = "tm_live_sandbox";
/// The message token the embedded sandbox hands out (any `tm_msg_…` works): alice@example.com.
pub const MESSAGE_TOKEN: &str = "tm_msg_sandbox";
