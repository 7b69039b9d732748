//! Who may call, and with which TrekMail tokens: the operator's bearer (compared in constant
//! time) or the caller's own tokens, read from one request's headers and kept in nothing else.

use hmac::{Hmac, Mac};
use hyper::StatusCode;
use hyper::header::{AUTHORIZATION, HeaderMap};
use sha2::Sha256;
use trekmail_api::TokenKind;

use crate::call::tokens::Secret;
use crate::call::tokens::Tokens;

/// The header carrying a message token beside an ops token in `Authorization`.
pub const MESSAGE_TOKEN_HEADER: &str = "x-trekmail-message-token";

/// The longest token accepted from a request.
const MAX_TOKEN_LEN: usize = 1024;

/// Why a request is turned away before anything reaches MCP (or the API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 401 (missing or wrong credentials) or 400 (contradictory headers).
    pub status: StatusCode,
    /// What to tell the caller; never contains a presented value.
    pub message: &'static str,
}

impl Refusal {
    const fn unauthorized(message: &'static str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            message,
        }
    }

    const fn bad_request(message: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message,
        }
    }
}

/// The operator's bearer, kept as an HMAC under a random key: checking a presented value
/// compares two MACs in constant time, so neither the secret nor its length leaks by timing.
pub struct BearerCheck {
    key: [u8; 32],
    mac: Vec<u8>,
}

impl BearerCheck {
    /// A check for `secret`.
    pub fn new(secret: &Secret) -> Self {
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        let mac = Self::mac(&key, secret.expose().as_bytes())
            .map(|m| m.finalize().into_bytes().to_vec())
            .unwrap_or_default();
        Self { key, mac }
    }

    fn mac(key: &[u8], value: &[u8]) -> Option<Hmac<Sha256>> {
        let mut m = Hmac::<Sha256>::new_from_slice(key).ok()?;
        m.update(value);
        Some(m)
    }

    /// Whether `presented` is the secret.
    pub fn matches(&self, presented: &str) -> bool {
        !self.mac.is_empty()
            && Self::mac(&self.key, presented.as_bytes())
                .is_some_and(|m| m.verify_slice(&self.mac).is_ok())
    }
}

/// The bearer value of the one `Authorization` header, if any.
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, Refusal> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Refusal::bad_request("send one Authorization header"));
    }
    let value = value
        .to_str()
        .map_err(|_| Refusal::unauthorized("the Authorization header is not a bearer token"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(Some(token.trim())),
        _ => Err(Refusal::unauthorized(
            "the Authorization header is not a bearer token",
        )),
    }
}

/// Operator mode: the request must present the operator's bearer when one is configured, and
/// must not bring TrekMail tokens of its own (they would be ignored: say so instead).
pub fn operator(headers: &HeaderMap, check: Option<&BearerCheck>) -> Result<(), Refusal> {
    if headers.contains_key(MESSAGE_TOKEN_HEADER) {
        return Err(Refusal::bad_request(
            "this server acts with the operator's TrekMail tokens; it does not accept X-TrekMail-Message-Token",
        ));
    }
    let Some(check) = check else {
        return Ok(());
    };
    match bearer(headers)? {
        None => Err(Refusal::unauthorized(
            "this server needs Authorization: Bearer <the operator's secret>",
        )),
        Some(b) if check.matches(b) => Ok(()),
        Some(_) => Err(Refusal::unauthorized("the bearer secret is not valid")),
    }
}

/// Caller mode: the TrekMail tokens this request presents, and nothing else.
pub fn caller(headers: &HeaderMap) -> Result<Tokens, Refusal> {
    let Some(presented) = bearer(headers)? else {
        return Err(Refusal::unauthorized(
            "this server needs your TrekMail token: Authorization: Bearer tm_live_... or tm_msg_...",
        ));
    };
    let mut tokens = Tokens::default();
    match kind_of(presented) {
        Some(TokenKind::Ops) => tokens.ops = Some(Secret::new(presented)),
        Some(TokenKind::Message) => tokens.message = Some(Secret::new(presented)),
        None => {
            return Err(Refusal::unauthorized(
                "the bearer token is not a TrekMail token (tm_live_... or tm_msg_...)",
            ));
        }
    }
    let mut extra = headers.get_all(MESSAGE_TOKEN_HEADER).iter();
    if let Some(value) = extra.next() {
        if extra.next().is_some() {
            return Err(Refusal::bad_request(
                "send one X-TrekMail-Message-Token header",
            ));
        }
        let value = value.to_str().map(str::trim).unwrap_or("");
        if kind_of(value) != Some(TokenKind::Message) {
            return Err(Refusal::unauthorized(
                "X-TrekMail-Message-Token must carry a message token (tm_msg_...)",
            ));
        }
        if tokens.message.is_some() {
            return Err(Refusal::bad_request(
                "two message tokens: put the ops token in Authorization and the message token in X-TrekMail-Message-Token",
            ));
        }
        tokens.message = Some(Secret::new(value));
    }
    Ok(tokens)
}

/// The kind of a syntactically valid token of a bounded length, or `None`.
fn kind_of(token: &str) -> Option<TokenKind> {
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    TokenKind::of(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_bearer_matches_only_itself() {
        let check = BearerCheck::new(&Secret::new("s3cret-operator-bearer"));
        assert!(
            operator(
                &headers(&[("authorization", "Bearer s3cret-operator-bearer")]),
                Some(&check)
            )
            .is_ok()
        );
        assert!(
            operator(
                &headers(&[("authorization", "bearer s3cret-operator-bearer")]),
                Some(&check)
            )
            .is_ok()
        );
        for wrong in [
            "Bearer s3cret-operator-beare",
            "Bearer s3cret-operator-bearer2",
            "Bearer ",
            "Basic s3cret-operator-bearer",
            "s3cret-operator-bearer",
        ] {
            let h = headers(&[("authorization", wrong)]);
            assert_eq!(
                operator(&h, Some(&check)).map_err(|r| r.status),
                Err(StatusCode::UNAUTHORIZED),
                "{wrong}"
            );
        }
        assert_eq!(
            operator(&HeaderMap::new(), Some(&check)).map_err(|r| r.status),
            Err(StatusCode::UNAUTHORIZED)
        );
        // Without a configured bearer (loopback only), no header is needed.
        assert!(operator(&HeaderMap::new(), None).is_ok());
        let h = headers(&[("x-trekmail-message-token", "tm_msg_abc")]);
        assert_eq!(
            operator(&h, None).map_err(|r| r.status),
            Err(StatusCode::BAD_REQUEST)
        );
    }

    #[test]
    fn caller_tokens_are_exactly_those_presented() {
        let t = caller(&headers(&[("authorization", "Bearer tm_live_abc")])).expect("ops");
        assert_eq!(t.ops.as_ref().map(Secret::expose), Some("tm_live_abc"));
        assert!(t.message.is_none());
        let t = caller(&headers(&[("authorization", "Bearer tm_msg_xyz")])).expect("msg");
        assert!(t.ops.is_none());
        assert_eq!(t.message.as_ref().map(Secret::expose), Some("tm_msg_xyz"));
        let t = caller(&headers(&[
            ("authorization", "Bearer tm_live_abc"),
            ("x-trekmail-message-token", "tm_msg_xyz"),
        ]))
        .expect("both");
        assert_eq!(t.ops.as_ref().map(Secret::expose), Some("tm_live_abc"));
        assert_eq!(t.message.as_ref().map(Secret::expose), Some("tm_msg_xyz"));
    }

    #[test]
    fn caller_refusals_name_no_value() {
        let cases: [(&[(&'static str, &'static str)], StatusCode); 8] = [
            (&[], StatusCode::UNAUTHORIZED),
            (
                &[("authorization", "Bearer tm_live_")],
                StatusCode::UNAUTHORIZED,
            ),
            (
                &[("authorization", "Bearer sk_live_QQQ9")],
                StatusCode::UNAUTHORIZED,
            ),
            (
                &[("authorization", "Bearer tm_live_QQQ1 QQQ2")],
                StatusCode::UNAUTHORIZED,
            ),
            (
                &[
                    ("authorization", "Bearer tm_live_QQQ3"),
                    ("authorization", "Bearer tm_live_QQQ4"),
                ],
                StatusCode::BAD_REQUEST,
            ),
            (
                &[
                    ("authorization", "Bearer tm_msg_QQQ5"),
                    ("x-trekmail-message-token", "tm_msg_QQQ6"),
                ],
                StatusCode::BAD_REQUEST,
            ),
            (
                &[
                    ("authorization", "Bearer tm_live_QQQ7"),
                    ("x-trekmail-message-token", "tm_live_QQQ8"),
                ],
                StatusCode::UNAUTHORIZED,
            ),
            (
                &[("x-trekmail-message-token", "tm_msg_QQQ0")],
                StatusCode::UNAUTHORIZED,
            ),
        ];
        for (h, status) in cases {
            let r = caller(&headers(h)).err().expect("refused");
            assert_eq!(r.status, status, "{h:?}");
            assert!(!r.message.contains("QQQ"), "{} echoes a value", r.message);
        }
    }
}
