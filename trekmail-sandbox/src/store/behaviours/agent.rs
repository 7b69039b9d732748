//! The agent's purchases, in two calls: without a `Payment-Authorization` header the answer is a
//! 402 challenge with the amount; with the sandbox's test credential ([`TEST_SHARED_PAYMENT_TOKEN`]
//! for credits, [`TEST_PAYMENT_METHOD`] for subscriptions) the purchase is recorded and the
//! reads show it (credits, billing status, Drive add-on, White Label). Any other credential is
//! declined. `agent_reissue_key` hands out a new ops key once; the old one stops working.

use serde_json::{Map, Value, json};

use super::Behaviour;
use super::drive_sharing::ADDON_STEPS;
use crate::store::{Answer, Call, NOW, Store};

pub(super) const TABLE: &[(&str, Behaviour)] = &[
    ("agent_buy_verifier_credits", buy_credits),
    ("agent_subscribe_mail_plan", subscribe_plan),
    ("agent_subscribe_drive_addon", subscribe_drive),
    ("agent_subscribe_white_label", subscribe_white_label),
    ("agent_reissue_key", reissue_key),
];

/// The shared payment token the sandbox accepts for credit top-ups.
pub const TEST_SHARED_PAYMENT_TOKEN: &str = "spt_test_sandbox";
/// The Stripe test PaymentMethod the sandbox accepts for subscriptions.
pub const TEST_PAYMENT_METHOD: &str = "pm_card_visa";

/// Published credit bundles: (credits, price in cents).
const CREDIT_TIERS: &[(u64, u64)] = &[(1000, 900), (5000, 3900), (10_000, 6900), (50_000, 24_900)];
/// Mail plans: (slug, monthly price in cents); a year costs ten months.
const PLANS: &[(&str, u64)] = &[("pro", 900), ("agency", 2900)];
const WHITE_LABEL_MONTHLY: u64 = 4900;

fn yearly(monthly: u64, period: &Value) -> u64 {
    if period == "yearly" {
        monthly * 10
    } else {
        monthly
    }
}

/// The challenge, a decline, or `Ok` when the credential is the accepted test one.
fn pay(c: &Call<'_>, cents: u64, accepted: &str, what: &str) -> Result<Value, Answer> {
    let currency = c.b()["currency"].as_str().unwrap_or("EUR").to_uppercase();
    match c.r.headers.get("payment-authorization") {
        None => {
            let mut a = Answer::error(
                402,
                "payment_required",
                format!(
                    "{what} costs {cents} cents ({currency}); repeat with a payment credential"
                ),
            );
            a.body["error"]["amount"] = json!(cents);
            a.body["error"]["currency"] = json!(currency);
            a.body["error"]["credential_prefix"] = json!(&accepted[..3]);
            a.body["error"]["sandbox_test_credential"] = json!(accepted);
            Err(a)
        }
        Some(cred) if cred == accepted => {
            Ok(json!({"amount": cents, "currency": currency, "status": "paid", "paid_at": NOW}))
        }
        Some(_) => Err(Answer::error(
            402,
            "payment_declined",
            format!("the credential was declined (the sandbox accepts {accepted})"),
        )),
    }
}

fn record(s: &mut Store, kind: &str, mut receipt: Value, detail: Value) -> Answer {
    let id = s.id();
    receipt["id"] = json!(id);
    receipt["kind"] = json!(kind);
    receipt["detail"] = detail;
    s.put("agent/purchases", receipt.clone());
    Answer::created(receipt)
}

fn buy_credits(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let q = c.b()["quantity"].as_u64().unwrap_or(0);
    let Some((_, cents)) = CREDIT_TIERS.iter().find(|(n, _)| *n == q) else {
        return Some(Answer::field(
            "quantity",
            "must be a published tier: 1000, 5000, 10000 or 50000",
        ));
    };
    Some(
        match pay(c, *cents, TEST_SHARED_PAYMENT_TOKEN, "the credit bundle") {
            Ok(r) => record(s, "verifier_credits", r, json!({"quantity": q})),
            Err(a) => a,
        },
    )
}

fn subscribe(s: &mut Store, c: &Call<'_>, kind: &str, monthly: u64, detail: Value) -> Answer {
    let cents = yearly(monthly, &c.b()["period"]);
    match pay(c, cents, TEST_PAYMENT_METHOD, "the subscription") {
        Ok(r) => {
            let mut state: Map<String, Value> = detail.as_object().cloned().unwrap_or_default();
            state.insert("period".into(), c.b()["period"].clone());
            state.insert("since".into(), json!(NOW));
            s.set_singleton(kind, &Map::new(), Value::Object(state));
            record(s, kind, r, detail)
        }
        Err(a) => a,
    }
}

fn subscribe_plan(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let plan = c.b()["plan"].as_str().unwrap_or_default();
    let Some((_, monthly)) = PLANS.iter().find(|(p, _)| *p == plan) else {
        return Some(Answer::field("plan", "must be pro or agency"));
    };
    Some(subscribe(
        s,
        c,
        "agent/subscription",
        *monthly,
        json!({"plan": plan}),
    ))
}

fn subscribe_drive(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let gb = c.b()["size_gb"].as_u64().unwrap_or(0);
    let Some((_, monthly)) = ADDON_STEPS.iter().find(|(g, _)| *g == gb) else {
        return Some(Answer::field(
            "size_gb",
            "must be a published step: 100, 500, 1000 or 2000",
        ));
    };
    Some(subscribe(
        s,
        c,
        "drive/addon",
        *monthly,
        json!({"size_gb": gb}),
    ))
}

fn subscribe_white_label(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    Some(subscribe(
        s,
        c,
        "agent/white-label",
        WHITE_LABEL_MONTHLY,
        json!({}),
    ))
}

fn reissue_key(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let id = s.id();
    let token = format!("tm_live_reissued{id:06}");
    s.revoked_tokens.push(c.r.token.clone());
    let plan = s.singleton("agent/subscription", &Map::new());
    let scopes = if plan.get("plan").is_some() {
        json!(["*"])
    } else {
        json!(["account:read", "billing:write"])
    };
    Some(Answer::created(
        json!({"status": "reissued", "api_token": token, "token": token, "scopes": scopes, "revoked_previous": true}),
    ))
}
