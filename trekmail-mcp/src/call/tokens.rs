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

/// An HMAC-SHA256 of a caller's tokens under `key` (drawn at start-up): each token framed by its
/// kind and length, so no two sets of tokens share an input. What per-caller memories key by:
/// neither a token nor anything checkable against a guessed token outside this process.
pub fn caller_hmac(key: &[u8; 32], ops: Option<&str>, message: Option<&str>) -> [u8; 32] {
    use hmac::{Hmac, Mac as _};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else {
        // Any key length is valid for HMAC; unreachable, and a constant key still hides tokens.
        return [0; 32];
    };
    for (kind, t) in [(b'o', ops), (b'm', message)] {
        mac.update(&[kind]);
        match t {
            Some(t) => {
                mac.update(&(t.len() as u64).to_be_bytes());
                mac.update(t.as_bytes());
            }
            None => mac.update(&u64::MAX.to_be_bytes()),
        }
    }
    mac.finalize().into_bytes().into()
}

/// A fresh random key for [`caller_hmac`].
pub fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    key
}
