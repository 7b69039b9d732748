//! What a start and a listing read of a tool: the columns of its map entry that selection, the
//! instructions, the token scopes and the outbound policy's notes decide with. The data's first line holds every tool's head
//! ([`crate::catalog::data`]); a tool's whole entry is read from its own line when something
//! needs more, which is mostly its first call. A head is derived from the entry
//! ([`Head::of`]), never written by hand, so each fact is still stated once, in the map.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use trekmail_api::TokenKind;

use crate::catalog::map::{Capabilities, GateName, ToolEntry};

/// A tool's head (see the module's documentation). Names are borrowed from the embedded data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// `name`.
    #[serde(borrow)]
    pub name: Cow<'static, str>,
    /// `toolset`.
    #[serde(borrow)]
    pub toolset: Cow<'static, str>,
    /// `token`.
    pub token: TokenKind,
    /// `capabilities`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
    /// `gate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateName>,
    /// The gates of `gate_when`, in its order (which arguments they apply to is the entry's).
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    pub gates_when: Box<[GateName]>,
    /// Whether a call needs a confirmation argument (`confirm`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub confirms: bool,
    /// `annotations.read_only`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// `stdio_only`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub stdio_only: bool,
    /// What the outbound policy says of the tool in its description.
    #[serde(default, skip_serializing_if = "Outbound::is_none")]
    pub outbound: Outbound,
}

/// The columns of an entry the outbound policy's notes read
/// ([`crate::call::outbound::policy_note`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outbound {
    /// Whether an argument holds a recipient ([`ToolEntry::names_recipients`]).
    #[serde(default, skip_serializing_if = "is_false")]
    pub names_recipients: bool,
    /// `unnamed_recipients`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unnamed_recipients: u32,
    /// `default_recipients_arg`.
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub default_recipients_arg: Option<Cow<'static, str>>,
    /// `sends`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub sends: bool,
    /// `composes`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub composes: bool,
}

impl Outbound {
    fn is_none(&self) -> bool {
        *self == Self::default()
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Head {
    /// The head of `entry`.
    pub fn of(entry: &ToolEntry) -> Self {
        Self {
            name: Cow::Owned(entry.name.clone()),
            toolset: Cow::Owned(entry.toolset.clone()),
            token: entry.token,
            capabilities: entry.capabilities.clone(),
            gate: entry.gate,
            gates_when: entry.gate_when.iter().map(|g| g.gate).collect(),
            confirms: entry.confirm.is_some(),
            read_only: entry.annotations.read_only,
            stdio_only: entry.stdio_only,
            outbound: Outbound {
                names_recipients: entry.names_recipients(),
                unnamed_recipients: entry.unnamed_recipients,
                default_recipients_arg: entry.default_recipients_arg.clone().map(Cow::Owned),
                sends: entry.sends,
                composes: entry.composes,
            },
        }
    }

    /// Every gate the tool may need: its own and those of some argument values.
    pub fn gates(&self) -> impl Iterator<Item = GateName> + '_ {
        self.gate.into_iter().chain(self.gates_when.iter().copied())
    }
}
