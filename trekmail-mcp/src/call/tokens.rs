//! The token vocabulary: a token that never prints, the tokens of one server, where they come
//! from, and the variable that holds each kind (the kind itself is `trekmail_api::TokenKind`).

use std::fmt;

use trekmail_api::TokenKind;

/// A token that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub(crate) fn new(value: &str) -> Self {
        Self(value.to_owned())
    }

    /// The token itself, for the Authorization header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The TrekMail tokens of one server: the environment's, or those of one HTTP request.
#[derive(Clone, Default)]
pub struct Tokens {
    /// `tm_live_…`.
    pub ops: Option<Secret>,
    /// `tm_msg_…`.
    pub message: Option<Secret>,
}

/// Where tokens come from, for the messages that say which one is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `TREKMAIL_API_TOKEN` / `TREKMAIL_MESSAGE_TOKEN`.
    Environment,
    /// Each HTTP request's `Authorization` (and `X-TrekMail-Message-Token`) header.
    Request,
}

impl TokenSource {
    /// How to supply a token of `kind`.
    pub fn how(self, kind: TokenKind) -> String {
        match self {
            Self::Environment => kind.env_var().to_owned(),
            Self::Request => format!(
                "a {}… token in this request's Authorization header{}",
                kind.prefix(),
                match kind {
                    TokenKind::Message => " (or X-TrekMail-Message-Token beside an ops token)",
                    TokenKind::Ops => "",
                }
            ),
        }
    }
}

/// The environment variable that holds a token of a kind: server vocabulary, which the client
/// crate does not know.
pub trait TokenVariable {
    /// `TREKMAIL_API_TOKEN` or `TREKMAIL_MESSAGE_TOKEN`.
    fn env_var(self) -> &'static str;
}

impl TokenVariable for TokenKind {
    fn env_var(self) -> &'static str {
        match self {
            TokenKind::Ops => "TREKMAIL_API_TOKEN",
            TokenKind::Message => "TREKMAIL_MESSAGE_TOKEN",
        }
    }
}
