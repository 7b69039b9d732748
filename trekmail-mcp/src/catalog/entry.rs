//! A tool's map entry, read from its line of the embedded data when first needed: a start reads
//! only the tools' heads ([`crate::catalog::head`]), so the entries of tools no one calls are
//! never parsed.

use std::ops::Deref;
use std::sync::OnceLock;

use serde::{Serialize, Serializer};

use crate::catalog::map::ToolEntry;

/// A line of the embedded data that does not read: the data is written by `cargo xtask
/// generate` from this build's types and checked by `tests/catalog_data.rs`, so this is a
/// build defect, not input.
pub(crate) const DATA_DEFECT: &str =
    "trekmail-mcp/catalog.jsonl does not match this build: run `cargo xtask generate`";

/// The entry, there from the start when bound from the map.
pub struct Entry {
    read: OnceLock<ToolEntry>,
    /// Its line of the embedded data.
    line: &'static str,
}

impl Entry {
    /// An entry bound from the map.
    pub(crate) fn bound(entry: ToolEntry) -> Self {
        Self {
            read: OnceLock::from(entry),
            line: "",
        }
    }

    /// The entry of this line, read when first asked for.
    pub(crate) fn at(line: &'static str) -> Self {
        Self {
            read: OnceLock::new(),
            line,
        }
    }

    /// Whether the entry has been read (or was bound): what the tests of the start-up's cost
    /// look at.
    pub fn is_read(&self) -> bool {
        self.read.get().is_some()
    }
}

impl Deref for Entry {
    type Target = ToolEntry;

    #[allow(clippy::expect_used)] // the data is this build's (DATA_DEFECT)
    fn deref(&self) -> &ToolEntry {
        self.read
            .get_or_init(|| serde_json::from_str(self.line).expect(DATA_DEFECT))
    }
}

impl Serialize for Entry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}
