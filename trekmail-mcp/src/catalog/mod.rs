//! Floor 1, the catalogue: `tools-map.toml` bound to the operations of the OpenAPI document,
//! each tool's input and output schemas, argument paths, argument validation and the host guard.
//! Bound at build time (`cargo xtask generate` writes `catalog.jsonl`), read at start-up as data;
//! read-only afterwards.
//!
//! May import: nothing of this crate outside `catalog/` (it is the ground floor).

pub(crate) mod argpath;
mod binding;
pub mod checks;
pub mod data;
pub mod entry;
pub mod head;
pub mod hostguard;
pub mod map;
pub(crate) mod output;
pub mod schema;
pub(crate) mod truncate;
pub(crate) mod validate;

pub use binding::{Catalog, DESCRIPTION_LEN, TITLE_LEN, ToolDef};
