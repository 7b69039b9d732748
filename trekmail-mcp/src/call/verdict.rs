//! What became of a call, as typed values: sent (with the API's status), failed without an
//! answer, or refused by which rule. The metrics count these values and the audit trail writes
//! them: one vocabulary, no strings compared. (How a call was approved is
//! [`crate::call::human::Approval`].)

use serde::Serialize;
use trekmail_api::{CallError, Outcome, TransportKind};

/// Which rule of the outbound policy refused a call (for the metrics and the audit log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboundRule {
    /// `TREKMAIL_SEND_TO`: a recipient outside the list, or one that cannot be checked.
    SendTo,
    /// `TREKMAIL_SEND_RATE`: past the budget, or the budget could not be counted.
    SendRate,
}

impl OutboundRule {
    /// `send_to`, `send_rate`.
    pub fn label(self) -> &'static str {
        match self {
            Self::SendTo => "send_to",
            Self::SendRate => "send_rate",
        }
    }

    /// The variable that sets the rule: named here only (`outbound::VAR`, `send_rate::VAR`).
    pub const fn var(self) -> &'static str {
        match self {
            Self::SendTo => "TREKMAIL_SEND_TO",
            Self::SendRate => "TREKMAIL_SEND_RATE",
        }
    }
}

/// Why a call or request was refused before anything was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The arguments fail the tool's schema or checks.
    InvalidArguments,
    /// A safety switch (`TREKMAIL_ALLOW_*`) is off.
    SafetyGate,
    /// The outbound policy: `TREKMAIL_SEND_TO` or `TREKMAIL_SEND_RATE`.
    Outbound(OutboundRule),
    /// The tool's confirmation argument is missing.
    ConfirmationArgument,
    /// The user declined the approval.
    ApprovalDeclined,
    /// The user cancelled the approval.
    ApprovalCancelled,
    /// The user's approval was needed and this client cannot ask.
    ApprovalUnavailable,
    /// Asking the user failed.
    ApprovalFailed,
    /// The call came back without the user's answer to the question.
    ApprovalUnanswered,
    /// The sealed approval state is not valid (tampered, another call, another caller).
    ApprovalInvalid,
    /// The approval state expired.
    ApprovalExpired,
    /// The approval state was already used.
    ApprovalReplayed,
    /// Whether the approval state was used could not be checked (the state store failed).
    ApprovalUnchecked,
    /// The token the tool needs is not there.
    TokenMissing,
    /// The write's intent could not be decided (the state store failed).
    IntentUndecided,
    /// The tool is not listed for this configuration or these tokens (switch, selection, scope)
    /// or does not exist.
    ToolNotListed,
    /// An upload's local path is not allowed (`TREKMAIL_UPLOAD_DIR`).
    UploadPath,
    /// A payment without its confirmation.
    PaymentConfirmation,
    /// A payment's approval cannot be asked of the user.
    PaymentApprovalUnavailable,
    /// The audit log (`TREKMAIL_AUDIT_LOG`) could not record the write.
    AuditUnavailable,
    /// The server is shutting down.
    ShuttingDown,
    /// HTTP: more requests in flight than allowed.
    HttpRequestsInFlight,
    /// HTTP: the body is larger than allowed.
    HttpBodyTooLarge,
    /// HTTP: the body's JSON shape is out of bounds.
    HttpBodyShape,
    /// HTTP: the requests in flight use the memory budget.
    HttpMemoryBudget,
    /// HTTP: no valid bearer or token.
    HttpUnauthorized,
}

impl Rule {
    /// The rule's name in metrics and in the audit trail.
    pub fn name(self) -> &'static str {
        match self {
            Self::InvalidArguments => "invalid_arguments",
            Self::SafetyGate => "safety_gate",
            Self::Outbound(r) => r.label(),
            Self::ConfirmationArgument => "confirmation_argument",
            Self::ApprovalDeclined => "approval_declined",
            Self::ApprovalCancelled => "approval_cancelled",
            Self::ApprovalUnavailable => "approval_unavailable",
            Self::ApprovalFailed => "approval_failed",
            Self::ApprovalUnanswered => "approval_unanswered",
            Self::ApprovalInvalid => "approval_invalid",
            Self::ApprovalExpired => "approval_expired",
            Self::ApprovalReplayed => "approval_replayed",
            Self::ApprovalUnchecked => "approval_unchecked",
            Self::TokenMissing => "token_missing",
            Self::IntentUndecided => "intent_undecided",
            Self::ToolNotListed => "tool_not_listed",
            Self::UploadPath => "upload_path",
            Self::PaymentConfirmation => "payment_confirmation",
            Self::PaymentApprovalUnavailable => "payment_approval_unavailable",
            Self::AuditUnavailable => "audit_unavailable",
            Self::ShuttingDown => "shutting_down",
            Self::HttpRequestsInFlight => "http_requests_in_flight",
            Self::HttpBodyTooLarge => "http_body_too_large",
            Self::HttpBodyShape => "http_body_shape",
            Self::HttpMemoryBudget => "http_memory_budget",
            Self::HttpUnauthorized => "http_unauthorized",
        }
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Why a sent request got no usable answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// No answer within the deadline.
    Timeout,
    /// No connection.
    Connect,
    /// The connection failed otherwise.
    Transport,
    /// An answer larger than `TREKMAIL_MAX_RESPONSE_BYTES`, not read.
    TooLarge,
    /// A success answer whose body is not what the spec says.
    InvalidAnswer,
    /// The request could not be built: nothing left.
    NotBuilt,
}

/// What became of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Verdict {
    /// The API answered with this status (a success, an error or a redirect not followed).
    Sent {
        /// The HTTP status.
        status: u16,
    },
    /// The request got no usable answer: it may or may not have taken effect.
    Failed {
        /// What happened.
        failure: Failure,
    },
    /// A flow of several requests (an upload) ran: completed, or not (then it says which
    /// step failed, and aborted what it could).
    Flow {
        /// Whether it completed.
        completed: bool,
    },
    /// Refused before anything was sent.
    Refused {
        /// By which rule.
        rule: Rule,
    },
}

impl Verdict {
    /// The verdict of an API request's result.
    pub fn of(answer: Result<&Outcome, &CallError>) -> Self {
        let failure = match answer {
            Ok(o) => return Self::Sent { status: o.status },
            Err(CallError::Api(e)) => return Self::Sent { status: e.status },
            Err(CallError::Redirect { status, .. }) => return Self::Sent { status: *status },
            Err(CallError::Transport { kind, .. }) => match kind {
                TransportKind::Timeout => Failure::Timeout,
                TransportKind::Connect => Failure::Connect,
                TransportKind::Other => Failure::Transport,
            },
            Err(CallError::TooLarge { .. }) => Failure::TooLarge,
            Err(CallError::InvalidResponse(_)) => Failure::InvalidAnswer,
            Err(
                CallError::InvalidArgument { .. }
                | CallError::InvalidRequest(_)
                | CallError::UnknownOperation(_),
            ) => Failure::NotBuilt,
        };
        Self::Failed { failure }
    }

    /// A refusal by `rule`.
    pub fn refused(rule: Rule) -> Self {
        Self::Refused { rule }
    }
}
