//! Floor 4, the configuration: the command line and the environment, read in one pass into the
//! typed settings of the floors below (every problem reported at once, never a token echoed);
//! logging set-up and the embedded sandbox.
//!
//! May import: every floor below (`catalog/`, `call/`, `serve/`); nothing imports it but `main.rs`.

pub mod cli;
mod env;
mod http;
pub mod limits;
pub mod logging;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod start;
mod state;

pub use env::{VARIABLES, unknown_variables};
