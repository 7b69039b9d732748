//! An embedded TrekMail sandbox: a stateful, in-memory emulation of the TrekMail API v1 at
//! `/api/v1`, for trying the MCP server and the Rust client without an account.
//!
//! Routes and request checks come from the OpenAPI document (through the operations that
//! `trekmail-api` embeds, read in one module); the store and each resource's behaviour are
//! written by hand. One store per [`Sandbox`]; nothing is written to disk.
//!
//! Tokens: any bearer token starting `tm_live_` reaches the ops endpoints, `tm_msg_` the message
//! endpoints (the mailbox `alice@example.com`, unless the token was made by
//! `create_message_token`); a token replaced by `agent_reissue_key` no longer works.
//!
//! Links the sandbox hands out (presigned Drive upload and download URLs, share links, White
//! Label invitations) point to its own host below `/_sandbox/`: PUT the bytes to an upload URL,
//! GET a download or share link, open an invitation to accept it. Payments: the first call of a
//! paying `agent_*` operation answers 402 with the amount; repeated with the header
//! `Payment-Authorization: spt_test_sandbox` (credits, [`TEST_SHARED_PAYMENT_TOKEN`]) or
//! `pm_card_visa` (subscriptions, [`TEST_PAYMENT_METHOD`]) it is paid and recorded.
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
pub use store::{MULTIPART_FROM, Outside, TEST_PAYMENT_METHOD, TEST_SHARED_PAYMENT_TOKEN};

/// The ops token the embedded sandbox hands out (any `tm_live_…` works).
pub const OPS_TOKEN: &str = "tm_live_sandbox";
/// The message token the embedded sandbox hands out (any `tm_msg_…` works): alice@example.com.
pub const MESSAGE_TOKEN: &str = "tm_msg_sandbox";
