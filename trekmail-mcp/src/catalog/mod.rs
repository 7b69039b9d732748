//! Floor 1, the catalogue: `tools-map.toml` bound to the operations of the OpenAPI document,
//! each tool's input and output schemas, argument paths, argument validation and the host guard.
//! Built once at start-up; read-only afterwards.
//!
//! May import: nothing of this crate outside `catalog/` (it is the ground floor).

pub(crate) mod argpath;
mod binding;
pub mod checks;
pub mod hostguard;
pub mod map;
pub(crate) mod output;
pub mod schema;
pub(crate) mod truncate;
pub(crate) mod validate;

pub use binding::{Catalog, DESCRIPTION_LEN, TITLE_LEN, ToolDef};
