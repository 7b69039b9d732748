//! What every attempt of a call carries and what the transport learns about it: the request id
//! and idempotency key headers, and [`Facts`]. Read by the transport and by the errors alike.

/// Header carrying the client's request id on every attempt.
pub const REQUEST_ID: &str = "x-request-id";
/// Header carrying the idempotency key of a write on every attempt.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// What the transport learnt about a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The `X-Request-Id` sent on every attempt.
    pub request_id: String,
    /// The `Idempotency-Key` sent on every attempt of a write.
    pub idempotency_key: Option<String>,
    /// Attempts made, the first included.
    pub attempts: u32,
}
