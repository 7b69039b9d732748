//! Machine payments through the server in process, against a local mock API: the price without a
//! credential, every refusal before money moves (nothing with the credential sent), the paying
//! request with its credential hidden from answers and keys, and never retried once written.
//! The user's approval (elicitation) is tested over stdio in tests/payments_stdio.rs.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::{Harness, Opts, is_error, text};
use wiremock::matchers::{header, header_exists, method, path};
use wiremock::{Mock, ResponseTemplate};

const TOOL: &str = "agent_buy_verifier_credits";
const PATH: &str = "/api/v1/agent/verifier-credits/topup";
const CREDENTIAL: &str = "spt_live_SECRETcredential42";

fn challenge() -> ResponseTemplate {
    ResponseTemplate::new(402).set_body_json(json!({"error": {
        "code": "payment_required",
        "message": "the credit bundle costs 900 cents (EUR)",
        "amount": 900, "currency": "eur"
    }}))
}

fn opts(payments: bool, without_approval: bool) -> Opts {
    let mut o = Opts {
        payments,
        ..Opts::default()
    };
    if without_approval {
        o.extra
            .push(("TREKMAIL_PAYMENTS_WITHOUT_APPROVAL", "true".into()));
    }
    o
}

fn paying() -> Value {
    json!({"quantity": 1000, "credential": CREDENTIAL, "confirm_payment": true})
}

/// Every request so far, each as its headers and body, for "the credential never left".
async fn carried_credential(h: &Harness) -> usize {
    h.requests()
        .await
        .iter()
        .filter(|r| r.headers.get("payment-authorization").is_some())
        .count()
}

#[tokio::test]
async fn without_a_credential_the_402_is_a_price_not_an_error() {
    let h = Harness::start(opts(true, false)).await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(challenge())
        .expect(1)
        .mount(&h.mock)
        .await;
    let r = h.call(TOOL, json!({"quantity": 1000})).await;
    let t = text(&r);
    assert!(!is_error(&r), "{t}");
    assert!(t.contains("Nothing was bought"), "{t}");
    assert!(t.contains("900 EUR"), "{t}");
    assert!(
        t.contains("credential") && t.contains("confirm_payment: true"),
        "{t}"
    );
    assert!(
        r.structured_content.is_none(),
        "not the API's answer to a purchase"
    );
    assert_eq!(carried_credential(&h).await, 0);
}

#[tokio::test]
async fn each_refusal_before_payment_sends_nothing() {
    // The switch off.
    let h = Harness::start(opts(false, true)).await;
    Mock::given(method("POST"))
        .respond_with(challenge())
        .expect(0)
        .mount(&h.mock)
        .await;
    let r = h.call(TOOL, paying()).await;
    assert!(
        is_error(&r) && text(&r).contains("TREKMAIL_ALLOW_PAYMENTS"),
        "{}",
        text(&r)
    );

    // A credential without the confirmation, or with it false.
    let h = Harness::start(opts(true, true)).await;
    Mock::given(method("POST"))
        .respond_with(challenge())
        .expect(0)
        .mount(&h.mock)
        .await;
    for args in [
        json!({"quantity": 1000, "credential": CREDENTIAL}),
        json!({"quantity": 1000, "credential": CREDENTIAL, "confirm_payment": false}),
    ] {
        let r = h.call(TOOL, args).await;
        let t = text(&r);
        assert!(is_error(&r) && t.contains("confirm_payment: true"), "{t}");
        assert!(!t.contains(CREDENTIAL), "{t}");
    }

    // A client that cannot ask its user (this harness's), the operator not having allowed it,
    // whatever TREKMAIL_HUMAN_CONFIRM says.
    let mut o = opts(true, false);
    o.extra.push(("TREKMAIL_HUMAN_CONFIRM", "never".into()));
    let h = Harness::start(o).await;
    Mock::given(method("POST"))
        .respond_with(challenge())
        .expect(0)
        .mount(&h.mock)
        .await;
    let r = h.call(TOOL, paying()).await;
    let t = text(&r);
    assert!(
        is_error(&r) && t.contains("TREKMAIL_PAYMENTS_WITHOUT_APPROVAL") && t.contains("approve"),
        "{t}"
    );
    assert!(!t.contains(CREDENTIAL), "{t}");
}

#[tokio::test]
async fn the_paying_request_carries_the_credential_and_nothing_echoes_it() {
    let h = Harness::start(opts(true, true)).await;
    // The price first, asked without the credential; then the payment with it.
    Mock::given(method("POST"))
        .and(path(PATH))
        .and(header("payment-authorization", CREDENTIAL))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"data": {
            "id": 7, "status": "paid", "amount": 900, "currency": "EUR",
            "echo": format!("charged {CREDENTIAL}")
        }})))
        .expect(1)
        .mount(&h.mock)
        .await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(challenge())
        .expect(1)
        .mount(&h.mock)
        .await;
    let r = h.call(TOOL, paying()).await;
    let t = serde_json::to_string(&r).unwrap();
    assert!(!is_error(&r), "{t}");
    assert!(t.contains("Paid 900 EUR"), "{t}");
    assert!(
        !t.contains(CREDENTIAL),
        "the credential reached the agent: {t}"
    );
    let requests = h.requests().await;
    assert_eq!(requests.len(), 2);
    assert!(requests[0].headers.get("payment-authorization").is_none());
    let pay = &requests[1];
    let body: Value = serde_json::from_slice(&pay.body).unwrap();
    assert_eq!(
        body,
        json!({"quantity": 1000}),
        "neither credential nor confirmation in the body"
    );
    let key = pay
        .headers
        .get("idempotency-key")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(key.starts_with("mcp_agent_buy_verifier_credits_") && !key.contains(CREDENTIAL));
    // The price request and the payment are two intents: two keys.
    assert_ne!(
        requests[0].headers.get("idempotency-key"),
        pay.headers.get("idempotency-key")
    );
}

#[tokio::test]
async fn a_paying_request_that_was_written_is_never_sent_again() {
    let h = Harness::start(opts(true, true)).await;
    // A gateway error after the request was written: the payment may have gone through.
    Mock::given(method("POST"))
        .and(path(PATH))
        .and(header_exists("payment-authorization"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"error": {
            "code": "unavailable", "message": "try later"
        }})))
        .expect(1)
        .mount(&h.mock)
        .await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(challenge())
        .mount(&h.mock)
        .await;
    let r = h.call(TOOL, paying()).await;
    assert!(is_error(&r), "{}", text(&r));
    assert!(!text(&r).contains(CREDENTIAL));
    assert_eq!(carried_credential(&h).await, 1);
    assert!(h.sleeps.lock().unwrap().is_empty(), "no wait for a retry");
}

#[tokio::test]
async fn a_declined_credential_is_reported_without_it() {
    let h = Harness::start(opts(true, true)).await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .and(header_exists("payment-authorization"))
        .respond_with(ResponseTemplate::new(402).set_body_json(json!({"error": {
            "code": "payment_declined",
            "message": format!("the credential {CREDENTIAL} was declined")
        }})))
        .expect(1)
        .mount(&h.mock)
        .await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(challenge())
        .mount(&h.mock)
        .await;
    let r = h.call(TOOL, paying()).await;
    let t = serde_json::to_string(&r).unwrap();
    assert!(is_error(&r) && t.contains("payment_declined"), "{t}");
    assert!(!t.contains(CREDENTIAL), "{t}");
}

#[tokio::test]
async fn a_price_changed_after_the_approval_buys_nothing_more() {
    let h = Harness::start(opts(true, true)).await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .and(header_exists("payment-authorization"))
        .respond_with(ResponseTemplate::new(402).set_body_json(json!({"error": {
            "code": "payment_required", "amount": 1900, "currency": "EUR"
        }})))
        .expect(1)
        .mount(&h.mock)
        .await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(challenge())
        .mount(&h.mock)
        .await;
    let r = h.call(TOOL, paying()).await;
    let t = text(&r);
    assert!(
        is_error(&r) && t.contains("900 EUR") && t.contains("1900 EUR"),
        "{t}"
    );
}

#[tokio::test]
async fn a_credential_too_short_to_scrub_is_refused_before_anything_is_sent() {
    // Seven characters: scrubbing it from echoed answers would mangle ordinary text, so it is
    // never sent (not even the price request goes out).
    let short = "pm_1234";
    let h = Harness::start(opts(true, true)).await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"paid": short}})))
        .expect(0)
        .mount(&h.mock)
        .await;
    let r = h
        .call(
            TOOL,
            json!({"quantity": 1000, "credential": short, "confirm_payment": true}),
        )
        .await;
    let t = text(&r);
    assert!(is_error(&r), "{t}");
    assert!(
        t.contains("at least 8 characters") && t.contains("nothing was sent"),
        "{t}"
    );
    assert!(!t.contains(short), "{t}");
    assert!(h.requests().await.is_empty());
}
