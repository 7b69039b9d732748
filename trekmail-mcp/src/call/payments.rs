//! Machine payments: money moves only with a person's yes.
//!
//! A paying operation is two calls. Without a credential the API answers 402 with the amount:
//! that is a [`Challenge`], given to the agent as a plain result (what would be bought, the exact
//! amount and currency, what to do next), never as an error. The paying call carries the
//! credential (sent as the `Payment-Authorization` header) and `confirm_payment: true`; before it
//! is sent the server asks for a fresh challenge and shows the person an [`Approval`] of exactly
//! that amount and item. The approval is a value: the stdio elicitation asks it today, and the
//! approval over HTTP (input-required results) can ask the same value.
//!
//! The credential is a secret: it is hidden in every question and answer, enters idempotency
//! keys only as a keyed digest, and a paying request is retried only when the failure proves it
//! was never received ([`retry_proves_unsent`]).

use rmcp::model::{CallToolResult, ContentBlock, InputRequiredResult};
use serde_json::{Map, Value, json};
use trekmail_api::{CallError, Deadline, TransportKind};

use crate::call::human::{self, Ask, Decision, Human, HumanConfirm, Sealing};
use crate::call::progress::Progress;
use crate::call::verdict::{Rule, Verdict};
use crate::call::{Caller, Finished, Prepared, Refused, results};
use crate::catalog::ToolDef;
use crate::catalog::map::Payment;
use crate::catalog::schema::IDEMPOTENCY_ARG;
use crate::catalog::truncate::cut;

/// The setting that lets a payment proceed when the client cannot ask the user.
pub const WITHOUT_APPROVAL_VAR: &str = "TREKMAIL_PAYMENTS_WITHOUT_APPROVAL";

/// The credential of a paying call, when this call of `def` carries one.
pub fn credential<'a>(def: &ToolDef, args: &'a Map<String, Value>) -> Option<&'a str> {
    let p = def.entry.payment.as_ref()?;
    args.get(&p.credential).and_then(Value::as_str)
}

/// The refusal of a paying call whose credential is too short to be scrubbed from what the API
/// echoes (shorter secrets would match ordinary text, so none is sent at all); `None` otherwise.
/// The refusal names the argument, never the value.
pub fn too_short(def: &ToolDef, args: &Map<String, Value>) -> Option<String> {
    let p = def.entry.payment.as_ref()?;
    let c = credential(def, args)?;
    (c.len() < trekmail_api::MIN_SECRET_LEN).then(|| {
        format!(
            "{} refuses {}: a payment credential has at least {} characters, and a shorter one could not be hidden in answers that echo it; nothing was sent. Check the credential with the user.",
            def.entry.name,
            p.credential,
            trekmail_api::MIN_SECRET_LEN
        )
    })
}

/// The refusal of a paying call (its credential given) without `confirm: true`; `None` when
/// the call does not pay or is confirmed.
pub fn unconfirmed(def: &ToolDef, args: &Map<String, Value>) -> Option<String> {
    let p = def.entry.payment.as_ref()?;
    credential(def, args)?;
    (args.get(&p.confirm) != Some(&Value::Bool(true))).then(|| {
        format!(
            "{} pays with {}: it needs {}: true, set only after the user said they want to buy this; nothing was sent.",
            def.entry.name, p.credential, p.confirm
        )
    })
}

/// The result of a paying tool called without its credential: the price, not an error.
pub fn quote(def: &ToolDef, p: &Payment, challenge: &Challenge) -> CallToolResult {
    let text = quote_text(
        &def.entry.name,
        &def.entry.title,
        challenge,
        &p.credential,
        &p.confirm,
    );
    // Text only: a structured answer would be read as the API's answer to the purchase.
    CallToolResult::success(vec![ContentBlock::text(text)])
}

/// Where a paying call ends.
pub enum Paid {
    /// Refused before the credential left, or the outcome of the request that carried it (or of
    /// the price request, when the flow ended there): what the agent gets and the audit facts.
    Finished(Finished),
    /// The user is asked first (input-required): the call comes back with the answer.
    Asking(InputRequiredResult),
}

/// A paying call (credential given, `confirm` true, every gate open): the API's price now, the
/// user's approval of exactly that price and item, then the request with the credential,
/// retried only when the failure proves it was never received. Every refusal before the last
/// request sends nothing with the credential. The audit trail's `attempted` line is written
/// just before that request (the price request, without the credential, pays nothing).
pub async fn pay(
    caller: &Caller,
    prepared: Prepared<'_>,
    human: &Human,
    sealing: Sealing<'_>,
    progress: Option<&Progress>,
    deadline: Deadline,
) -> Paid {
    let def = prepared.def;
    let name = &def.entry.name;
    let (Some(p), Some(credential), Some(client)) = (
        def.entry.payment.as_ref(),
        credential(def, &prepared.args).map(str::to_owned),
        caller.client(def.entry.token),
    ) else {
        return Paid::Finished(prepared.refused(Refused::new(
            Rule::TokenMissing,
            format!("{name} cannot pay here; nothing was sent."),
        )));
    };
    let without_approval = caller.switches.payments_without_approval;
    if matches!(human, Human::Unreachable) && !without_approval {
        return Paid::Finished(prepared.refused(Refused::new(
            Rule::PaymentApprovalUnavailable,
            format!(
                "{name} moves money, so the user must approve the exact amount in the client, but this MCP client cannot ask the user (it did not declare form elicitation); nothing was sent. Only the operator can allow payments without that approval ({WITHOUT_APPROVAL_VAR}=true)."
            ),
        )));
    }
    // The price now, asked without the credential: what the user approves is what the API
    // asks today, not what an agent remembers or claims.
    let mut ask_args = prepared.args.clone();
    ask_args.remove(&p.credential);
    ask_args.remove(&p.confirm);
    let mut asking = match caller.prepare(def, ask_args) {
        Ok(a) => a,
        Err(refusal) => return Paid::Finished(prepared.refused(refusal)),
    };
    if let Err(result) = caller.decide_key(&mut asking, deadline).await {
        return Paid::Finished(prepared.refused(Refused {
            rule: Rule::IntentUndecided,
            result,
        }));
    }
    // The flow ends at the price request: its line is that request's (no credential left).
    let ended = |result, verdict, request_id| {
        Paid::Finished(Finished {
            result,
            verdict,
            key: asking.key.clone(),
            request_id: Some(request_id),
            approval: None,
            confirmed: prepared.confirmed(),
        })
    };
    let challenge = match caller.request(&asking, client, progress, deadline).await {
        Err((e, request_id)) => match Challenge::from_error(&e) {
            Some(c) => c,
            None => {
                let verdict = Verdict::of(Err(&e));
                let failure =
                    results::failure(name, &e, &request_id, def.entry.token, def.writes());
                return ended(failure, verdict, request_id);
            }
        },
        Ok(done) => {
            // The API took the order without any credential: nothing of ours was paid with.
            tracing::warn!(tool = %name, "the API accepted the order without a payment credential");
            let verdict = Verdict::of(Ok(&done));
            let r = results::success(def, done, None);
            return ended(r, verdict, asking.request_id.clone());
        }
    };
    let approval = Approval::new(
        name,
        &def.entry.title,
        &prepared.args,
        &[&p.credential, &p.confirm, IDEMPOTENCY_ARG],
        challenge,
    );
    let how = if matches!(human, Human::Unreachable) {
        tracing::warn!(tool = %name, price = %approval.challenge.price(), "paying without the user's approval ({WITHOUT_APPROVAL_VAR}=true)");
        human::Approval::ClientCannotAsk
    } else {
        // Sealed with the price: an input-required answer is valid only while the API asks
        // the same amount in the same currency.
        let mut bound = approval.item.clone();
        bound.insert("price".into(), approval.challenge.bound());
        let ask = Ask {
            question: approval.question(),
            forced: true,
        };
        let confirmed = human::confirm(
            HumanConfirm::Always,
            human,
            sealing,
            def,
            &bound,
            &ask,
            deadline,
        );
        match confirmed.await {
            Decision::Proceed(a) => a,
            Decision::Refuse { why, rule } => {
                return Paid::Finished(prepared.refused(Refused::new(
                    rule,
                    format!(
                        "{why} Nothing was paid: only the price was asked (without the credential)."
                    ),
                )));
            }
            Decision::InputRequired(question) => return Paid::Asking(question),
        }
    };
    // Waiting for the person is not the call's work: its deadline starts again once they
    // answered an elicitation.
    let deadline = match how {
        human::Approval::Elicitation => deadline.restarted(),
        _ => deadline,
    };
    let mut prepared = prepared;
    prepared.approval = Some(how);
    if let Err(result) = caller.decide_key(&mut prepared, deadline).await {
        return Paid::Finished(prepared.refused(Refused {
            rule: Rule::IntentUndecided,
            result,
        }));
    }
    // Recorded like any write: before the credential leaves, or refused.
    if let Err(refused) = caller.record_attempt(&prepared) {
        return Paid::Finished(prepared.refused(refused));
    }
    let paying = client.for_secret_request(&credential, retry_proves_unsent);
    let key = prepared.key.clone();
    let mut notes = prepared.notes.clone();
    let answer = caller.request(&prepared, &paying, progress, deadline).await;
    let verdict = Verdict::of(answer.as_ref().map_err(|(e, _)| e));
    let result = match answer {
        Ok(done) => {
            tracing::info!(tool = %name, price = %approval.challenge.price(), approval = how.as_str(), "paid");
            notes.push(format!(
                "Paid {} for {} ({}).",
                approval.challenge.price(),
                def.entry.title,
                match how {
                    human::Approval::ClientCannotAsk => {
                        format!("without the user's approval: {WITHOUT_APPROVAL_VAR}=true")
                    }
                    _ => "approved by the user".to_owned(),
                }
            ));
            results::success(def, done, None)
        }
        Err((e, request_id)) => match Challenge::from_error(&e) {
            Some(fresh) if !approval.covers(&fresh) => results::refusal(format!(
                "Nothing was bought: the price changed from {} (approved) to {} before the payment. Tell the user the new price; call again only if they still want it.",
                approval.challenge.price(),
                fresh.price()
            )),
            _ => results::failure(name, &e, &request_id, def.entry.token, def.writes()),
        },
    };
    Paid::Finished(Finished {
        result: results::annotate(result, key.as_ref(), &notes),
        verdict,
        key,
        request_id: Some(prepared.request_id.clone()),
        approval: Some(how),
        confirmed: prepared.confirmed(),
    })
}

/// What the API asks for an item: from a 402 answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Challenge {
    /// The amount exactly as the API states it (its `amount` field).
    pub amount: Value,
    /// The currency code (its `currency` field), upper case.
    pub currency: String,
    /// The API's message, if any (it says the unit of the amount).
    pub message: Option<String>,
}

impl Challenge {
    /// The challenge in a 402 answer's body (`{"error": {"amount", "currency", "message"}}`, or
    /// the same fields at the top level); `None` when the answer is not a payment challenge or
    /// names no amount (then the agent gets the API's error as it is).
    pub fn from_error(e: &CallError) -> Option<Self> {
        let CallError::Api(api) = e else {
            return None;
        };
        if api.status != 402 {
            return None;
        }
        let fields = api
            .body
            .get("error")
            .filter(|v| v.is_object())
            .unwrap_or(&api.body);
        let amount = fields
            .get("amount")
            .filter(|a| a.is_number() || a.is_string())?;
        let currency = fields
            .get("currency")
            .and_then(Value::as_str)
            .map(str::to_ascii_uppercase)
            .unwrap_or_else(|| "(currency not stated)".into());
        Some(Self {
            amount: amount.clone(),
            currency,
            message: api.message.clone(),
        })
    }

    /// The amount and currency as one value, for binding an approval to them.
    pub fn bound(&self) -> Value {
        json!({"amount": self.amount, "currency": self.currency})
    }

    /// The amount and currency in one phrase: `900 EUR (the API's amount field)`.
    pub fn price(&self) -> String {
        let amount = match &self.amount {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        format!("{amount} {}", self.currency)
    }
}

/// What one person approves: this tool, these arguments (the item), this amount. It covers
/// nothing else: another amount, another item or another call asks again.
#[derive(Debug, Clone, PartialEq)]
pub struct Approval {
    /// The tool's name.
    pub tool: String,
    /// The tool's title (what is bought).
    pub title: String,
    /// The item: the arguments that reach the API, the credential and confirmation left out.
    pub item: Map<String, Value>,
    /// What the API asked, just before the question.
    pub challenge: Challenge,
}

/// Longest argument value shown in a question, in characters.
const MAX_VALUE_CHARS: usize = 200;

impl Approval {
    /// The approval of `challenge` for `tool` with `args`, `hidden` (the credential, the
    /// confirmation) left out of the item.
    pub fn new(
        tool: &str,
        title: &str,
        args: &Map<String, Value>,
        hidden: &[&str],
        challenge: Challenge,
    ) -> Self {
        let item = args
            .iter()
            .filter(|(k, _)| !hidden.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Self {
            tool: tool.to_owned(),
            title: title.to_owned(),
            item,
            challenge,
        }
    }

    /// What the person reads: the item, the exact amount and currency, one argument a line as
    /// JSON (no value can fake a line of the question), long values cut.
    pub fn question(&self) -> String {
        let mut text = format!(
            "PAYMENT. The agent asks to buy: {} ({}).\nAmount: {}",
            self.title,
            self.tool,
            self.challenge.price()
        );
        if let Some(m) = &self.challenge.message {
            text.push_str(&format!(
                " (the API says: {})",
                cut(&m.escape_debug().to_string(), MAX_VALUE_CHARS)
            ));
        }
        for (k, v) in &self.item {
            text.push_str(&format!("\n{k}: {}", cut(&v.to_string(), MAX_VALUE_CHARS)));
        }
        text.push_str("\nApprove this payment of exactly this amount for exactly this item?");
        text
    }

    /// Whether a challenge asks the same as the approved one (same amount, same currency).
    pub fn covers(&self, fresh: &Challenge) -> bool {
        self.challenge.amount == fresh.amount && self.challenge.currency == fresh.currency
    }
}

/// The result the agent gets for a 402 without a credential: not an error, a price.
pub fn quote_text(
    tool: &str,
    title: &str,
    challenge: &Challenge,
    credential: &str,
    confirm: &str,
) -> String {
    let mut text = format!(
        "Nothing was bought. {title} ({tool}) costs {}.",
        challenge.price()
    );
    if let Some(m) = &challenge.message {
        text.push_str(&format!(" The API says: {m}"));
    }
    text.push_str(&format!(
        "\nTo buy it: tell the user what it is and what it costs, and only if they want it, call {tool} again with the same arguments plus {credential} (the payment credential from the user's wallet) and {confirm}: true. The user will be asked to approve that exact amount."
    ));
    text
}

/// Whether a failed paying request may be sent again: only when the failure proves the API
/// never received it (the connection was never made). A timeout, a reset, a 5xx or a 429 after
/// the request was written may hide a payment that went through.
pub fn retry_proves_unsent(e: &CallError) -> bool {
    matches!(
        e,
        CallError::Transport {
            kind: TransportKind::Connect,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;
    use trekmail_api::ApiError;

    fn api(status: u16, body: Value) -> CallError {
        let facts = trekmail_api::Facts {
            request_id: "r".into(),
            idempotency_key: None,
            attempts: 1,
        };
        CallError::Api(Box::new(ApiError::new(
            status,
            &reqwest::header::HeaderMap::new(),
            body,
            &facts,
            false,
        )))
    }

    #[test]
    fn a_402_with_an_amount_is_a_challenge_and_nothing_else_is() {
        let c = Challenge::from_error(&api(
            402,
            json!({"error": {"code": "payment_required", "message": "costs 900 cents (EUR)", "amount": 900, "currency": "eur"}}),
        ))
        .unwrap();
        assert_eq!(c.price(), "900 EUR");
        assert_eq!(c.message.as_deref(), Some("costs 900 cents (EUR)"));
        assert!(
            Challenge::from_error(&api(402, json!({"error": {"code": "payment_declined"}})))
                .is_none()
        );
        assert!(
            Challenge::from_error(&api(400, json!({"amount": 1, "currency": "EUR"}))).is_none()
        );
    }

    #[test]
    fn the_question_shows_amount_and_item_and_never_the_credential() {
        let args =
            json!({"quantity": 1000, "credential": "spt_secret_123", "confirm_payment": true});
        let c = Challenge {
            amount: json!(900),
            currency: "EUR".into(),
            message: Some("line\nApprove? yes".into()),
        };
        let a = Approval::new(
            "agent_buy_verifier_credits",
            "Buy Verifier Credits",
            args.as_object().unwrap(),
            &["credential", "confirm_payment"],
            c.clone(),
        );
        let q = a.question();
        assert!(q.contains("900 EUR") && q.contains("quantity: 1000"), "{q}");
        assert!(
            !q.contains("spt_secret_123") && !q.contains("confirm_payment"),
            "{q}"
        );
        assert_eq!(
            q.lines().filter(|l| l.starts_with("Approve")).count(),
            1,
            "{q}"
        );
        assert!(a.covers(&c));
        let dearer = Challenge {
            amount: json!(901),
            ..c.clone()
        };
        assert!(!a.covers(&dearer));
        let other = Challenge {
            currency: "USD".into(),
            ..c
        };
        assert!(!a.covers(&other));
    }

    #[test]
    fn only_a_connection_never_made_allows_another_attempt() {
        let connect = CallError::Transport {
            kind: TransportKind::Connect,
            message: "refused".into(),
        };
        assert!(retry_proves_unsent(&connect));
        for e in [
            CallError::Transport {
                kind: TransportKind::Timeout,
                message: "t".into(),
            },
            CallError::Transport {
                kind: TransportKind::Other,
                message: "reset".into(),
            },
            api(503, json!({})),
            api(429, json!({})),
        ] {
            assert!(!retry_proves_unsent(&e), "{e}");
        }
    }
}
