//! Floor 2, the call pipeline: from a tool's arguments to the API and back. Checks, safety
//! gates, confirmation (argument and human), the idempotency key, the request on the wire,
//! files, and the result the agent reads; [`tokens`] owns the token vocabulary.
//!
//! May import: `catalog/`. Not `serve/` or `config/`: the settings it needs are its own types
//! (switches, tokens, confirmation mode), built by `config/`.

pub mod approvals;
pub mod audit;
mod caller;
pub(crate) mod files;
pub(crate) mod gates;
pub mod human;
pub mod idempotency;
pub mod in_place;
pub mod intents;
pub mod metrics;
pub mod outbound;
pub mod outside;
pub mod payments;
pub mod progress;
pub mod reissue;
pub mod results;
pub mod send_rate;
pub mod shelf;
pub mod state;
pub mod stderr;
pub mod tokens;
pub mod trace;
pub mod upload;
pub mod verdict;
pub mod wire;

pub use caller::{Caller, Finished, Prepared, Refused};
