//! No panic on any input: random arguments through every tool's checks, wire mapping and
//! idempotency key, and random hosts through the guard. Deterministic (seeded), fast, no HTTP.
#![allow(clippy::unwrap_used)]

use serde_json::{Map, Value, json};
use trekmail_mcp::Catalog;
use trekmail_mcp::call::idempotency::{KeyPolicy, SecretKey, derive};
use trekmail_mcp::catalog::schema::IdempotencyKey;

fn random_value(rng: &mut fastrand::Rng, depth: u32) -> Value {
    match rng.u8(0..if depth > 2 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.bool()),
        2 => json!(rng.i64(-5..1_000_000_000_000)),
        3 => json!(rng.f64() * 1e6 - 10.0),
        4 => Value::String((0..rng.usize(0..40)).map(|_| rng.char(..)).collect()),
        5 => Value::String(
            [
                "",
                "INBOX",
                "a@b.co",
                "Archive/2024",
                "127.0.0.1",
                "delete",
                "messages:send",
                "all",
            ][rng.usize(0..8)]
            .into(),
        ),
        6 => Value::Array(
            (0..rng.usize(0..12))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.usize(0..5))
                .map(|i| (format!("k{i}"), random_value(rng, depth + 1)))
                .collect(),
        ),
    }
}

#[test]
fn random_arguments_never_panic_and_always_get_an_answer() {
    let catalog = Catalog::embedded().unwrap();
    let secret = SecretKey::random();
    let mut rng = fastrand::Rng::with_seed(0x7e4_3a11);
    let mut accepted = 0;
    for def in catalog.tools() {
        let names: Vec<String> = def.input_schema()["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        for _ in 0..300 {
            let mut args = Map::new();
            for n in &names {
                if rng.bool() {
                    args.insert(n.clone(), random_value(&mut rng, 0));
                }
            }
            if rng.u8(0..10) == 0 {
                args.insert("unexpected".into(), random_value(&mut rng, 0));
            }
            let problems = trekmail_mcp::catalog::checks::problems(def, &args);
            if problems.is_empty() {
                accepted += 1;
                let wire = trekmail_mcp::call::wire::to_wire(
                    def.shape(),
                    &args,
                    IdempotencyKey::new("k").as_ref(),
                );
                assert!(
                    def.shape().has_body == wire.body.is_some(),
                    "{}",
                    def.entry.name
                );
            }
            let key = derive(
                &def.entry.name,
                &args,
                &["idempotency_key"],
                &KeyPolicy::of(def),
                &secret,
                1_700_000_000_000,
            );
            let key = key.as_str();
            assert!(key.starts_with("mcp_") && key.len() == 4 + def.entry.name.len() + 1 + 32);
        }
    }
    assert!(accepted > 0, "some random calls must pass validation");
}

#[test]
fn random_hosts_never_panic() {
    let mut rng = fastrand::Rng::with_seed(42);
    let alphabet: Vec<char> = "0123456789abcdefx.:[]%-_ ABZ/@ü".chars().collect();
    for _ in 0..50_000 {
        let host: String = (0..rng.usize(0..30))
            .map(|_| alphabet[rng.usize(0..alphabet.len())])
            .collect();
        let _ = trekmail_mcp::catalog::hostguard::refusal(&host);
    }
}
