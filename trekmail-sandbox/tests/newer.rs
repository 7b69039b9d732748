//! Every operation of the document against a fresh sandbox (a 2xx that fits the described
//! answer, or an API-shaped 4xx, never anything else), and the stateful emulation of the
//! operations added after the product description: Drive uploads that download back intact
//! (one URL and multipart), share links, trash/restore/purge; the White Label member lifecycle
//! with its invitation link; paid agent operations and the key reissue; app passwords shown once.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use trekmail_api::TokenKind;
use trekmail_api::model::Location;
use trekmail_sandbox::spec::{Operation, check};
use trekmail_sandbox::{MULTIPART_FROM, Sandbox, TEST_PAYMENT_METHOD, TEST_SHARED_PAYMENT_TOKEN};

const OPS: &str = "tm_live_x";
const MSG: &str = "tm_msg_x";

fn call_with(
    s: &Sandbox,
    method: &str,
    path: &str,
    token: &str,
    extra: &[(&str, &str)],
    body: &Value,
) -> (u16, Value) {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut headers = BTreeMap::new();
    headers.insert("authorization".to_owned(), format!("Bearer {token}"));
    for (k, v) in extra {
        headers.insert((*k).to_owned(), (*v).to_owned());
    }
    let bytes = if body.is_null() {
        vec![]
    } else {
        serde_json::to_vec(body).unwrap()
    };
    let (st, out, _) = s.respond(method, &format!("/api/v1{path}"), query, &headers, &bytes);
    (st, serde_json::from_slice(&out).unwrap_or(Value::Null))
}

fn call(s: &Sandbox, method: &str, path: &str, body: Value) -> (u16, Value) {
    let token = if path.starts_with("/messages") {
        MSG
    } else {
        OPS
    };
    call_with(s, method, path, token, &[], &body)
}

/// A 2xx answer's data.
fn ok(s: &Sandbox, method: &str, path: &str, body: Value) -> Value {
    let (st, v) = call(s, method, path, body);
    assert!((200..300).contains(&st), "{method} {path}: {st} {v}");
    v["data"].clone()
}

/// Follows a link the sandbox handed out.
fn follow(s: &Sandbox, method: &str, url: &str, body: &[u8]) -> trekmail_sandbox::Outside {
    let rest = url.strip_prefix("http://127.0.0.1").unwrap();
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    s.follow(method, path, query, body)
}

/// The smallest value a schema accepts.
fn minimal(schema: &Value) -> Value {
    if let Some(e) = schema["enum"].as_array() {
        return e[0].clone();
    }
    if let Some(alts) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        return minimal(&alts[0]);
    }
    match schema["type"].as_str() {
        Some("integer" | "number") => json!(schema["minimum"].as_i64().unwrap_or(1).max(1)),
        Some("boolean") => json!(true),
        Some("array") => {
            let n = schema["minItems"].as_u64().unwrap_or(0) as usize;
            Value::Array(vec![minimal(&schema["items"]); n])
        }
        Some("object") => {
            let mut o = Map::new();
            for r in schema["required"].as_array().into_iter().flatten() {
                let name = r.as_str().unwrap();
                o.insert(name.into(), minimal(&schema["properties"][name]));
            }
            Value::Object(o)
        }
        _ if schema["format"] == "email" => json!("someone@example.org"),
        _ if schema["pattern"] == "^#[0-9a-fA-F]{6}$" => json!("#336699"),
        _ => {
            let n = schema["minLength"].as_u64().unwrap_or(1).max(1) as usize;
            json!("x".repeat(n))
        }
    }
}

/// `op`'s path with seeded values (1, or the first value a parameter allows) and its required
/// query parameters.
fn seeded_path(op: &Operation) -> String {
    let mut path = op.path.clone();
    let mut query = vec![];
    for p in &op.parameters {
        let v = match p.schema["enum"].as_array() {
            Some(e) => e[0].as_str().unwrap_or("1").to_owned(),
            None if p.name == "path" => "INBOX".to_owned(),
            None if p.schema["type"] == "string" && p.location == Location::Query => {
                "2000-01-01T00:00:00Z".to_owned()
            }
            None => "1".to_owned(),
        };
        match p.location {
            Location::Path => path = path.replace(&format!("{{{}}}", p.name), &v),
            Location::Query if p.required => query.push(format!("{}={v}", p.name)),
            _ => {}
        }
    }
    if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

#[test]
fn every_operation_answers_a_described_2xx_or_an_api_shaped_4xx() {
    let ops = Sandbox::new().unwrap().spec().operations.clone();
    let (mut ok2xx, mut refused) = (vec![], vec![]);
    for op in &ops {
        let s = Sandbox::new().unwrap();
        let body = op.body.as_ref().map_or(Value::Null, minimal);
        let token = if op.token == TokenKind::Ops { OPS } else { MSG };
        let (st, v) = call_with(&s, op.method.as_str(), &seeded_path(op), token, &[], &body);
        if (200..300).contains(&st) {
            if let (Some(schema), false) = (&op.response_schema, v.is_null()) {
                let mut problems = Map::new();
                check(schema, &v, "", &mut problems);
                assert!(problems.is_empty(), "{}: {problems:?}\n{v}", op.id);
            }
            ok2xx.push(op.id.clone());
        } else {
            assert!(
                (400..500).contains(&st) && v["error"]["code"].is_string(),
                "{}: {st} {v}",
                op.id
            );
            refused.push(format!("{} {st} {}", op.id, v["error"]["code"]));
        }
    }
    eprintln!(
        "{} of {} answered 2xx; refused: {refused:#?}",
        ok2xx.len(),
        ops.len()
    );
    assert!(ok2xx.len() * 10 >= ops.len() * 8, "{refused:#?}");
}

#[test]
fn a_drive_upload_downloads_back_intact_in_one_part_and_in_several() {
    let s = Sandbox::new().unwrap();
    let folder = ok(
        &s,
        "POST",
        "/drive/spaces/account/folders",
        json!({"name": "Reports", "parent_id": null}),
    );
    for size in [37_u64, MULTIPART_FROM + 3] {
        let bytes: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        let up = ok(
            &s,
            "POST",
            "/drive/spaces/account/uploads:initiate",
            json!({"name": format!("r{size}.bin"), "size_bytes": size, "folder_id": folder["id"]}),
        );
        let id = up["file_id"].as_i64().unwrap();
        let complete = if up["multipart"] == true {
            let part = up["part_size_bytes"].as_u64().unwrap() as usize;
            let mut parts = vec![];
            for p in up["parts"].as_array().unwrap() {
                let n = p["part_number"].as_u64().unwrap() as usize;
                let chunk = &bytes[(n - 1) * part..(n * part).min(bytes.len())];
                let put = follow(&s, "PUT", p["upload_url"].as_str().unwrap(), chunk);
                assert_eq!(put.status, 200);
                parts.push(json!({"part_number": n, "etag": put.etag.unwrap().trim_matches('"')}));
            }
            assert_eq!(parts.len(), 2);
            // A wrong ETag is refused, and the right ones complete it.
            let mut wrong = parts.clone();
            wrong[1]["etag"] = json!("0000");
            let (st, _) = call(
                &s,
                "POST",
                &format!("/drive/uploads/{id}:complete"),
                json!({"parts": wrong}),
            );
            assert_eq!(st, 422);
            json!({"parts": parts})
        } else {
            assert_eq!(
                follow(&s, "PUT", up["upload_url"].as_str().unwrap(), &bytes).status,
                200
            );
            json!({})
        };
        let f = ok(
            &s,
            "POST",
            &format!("/drive/uploads/{id}:complete"),
            complete,
        );
        assert_eq!(
            (f["status"].as_str(), f["size_bytes"].as_u64()),
            (Some("active"), Some(size))
        );
        let url = ok(
            &s,
            "GET",
            &format!("/drive/files/{id}/download"),
            Value::Null,
        )["url"]
            .clone();
        assert_eq!(
            follow(&s, "GET", url.as_str().unwrap(), &[]).body,
            bytes,
            "{size} bytes"
        );
        // A link with a forged signature is refused.
        let forged = url.as_str().unwrap().replace("sig=", "sig=0");
        assert_eq!(follow(&s, "GET", &forged, &[]).status, 403);
    }
    // An aborted upload is gone; its URL no longer takes bytes.
    let up = ok(
        &s,
        "POST",
        "/drive/spaces/account/uploads:initiate",
        json!({"name": "x", "size_bytes": 1, "folder_id": null}),
    );
    ok(
        &s,
        "POST",
        &format!("/drive/uploads/{}:abort", up["file_id"]),
        json!({}),
    );
    assert_eq!(
        follow(&s, "PUT", up["upload_url"].as_str().unwrap(), b"x").status,
        404
    );
}

#[test]
fn drive_share_links_trash_restore_and_purge() {
    let s = Sandbox::new().unwrap();
    // The seeded file 1 (readme.txt in folder 1), shared with a cap of one download.
    let link = ok(
        &s,
        "POST",
        "/drive/files/1/share-links",
        json!({"max_downloads": 1}),
    );
    let url = link["public_url"].as_str().unwrap();
    assert!(link["token"].is_string());
    assert_eq!(
        follow(&s, "GET", url, &[]).body,
        b"Hello from the sandbox Drive.\n"
    );
    assert_eq!(
        follow(&s, "GET", url, &[]).status,
        410,
        "the cap is reached"
    );
    let open = ok(&s, "POST", "/drive/files/1/share-links", json!({}));
    let listed = ok(&s, "GET", "/drive/files/1/share-links", Value::Null);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l.get("token").is_none()),
        "the token is shown once: {listed}"
    );
    // Purge needs the trash first; trashing a folder takes its files along.
    let (st, _) = call(&s, "DELETE", "/drive/files/1:purge", Value::Null);
    assert_eq!(st, 409);
    ok(&s, "DELETE", "/drive/folders/1", Value::Null);
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let trash = ok(&s, "GET", "/drive/spaces/account/trash", Value::Null);
    assert!(
        names(&trash).contains(&"readme.txt".to_owned())
            && names(&trash).contains(&"Documents".to_owned()),
        "{trash}"
    );
    let (st, _) = call(&s, "GET", "/drive/spaces/account/folders/1", Value::Null);
    assert_eq!(st, 404, "a trashed folder is not browsed");
    ok(&s, "POST", "/drive/folders/1:restore", json!({}));
    let inside = ok(
        &s,
        "GET",
        "/drive/spaces/account/folders/1?sort=name&dir=desc",
        Value::Null,
    );
    assert_eq!(names(&inside), ["readme.txt", "plan.pdf", "Invoices"]);
    ok(&s, "DELETE", "/drive/files/1", Value::Null);
    ok(&s, "DELETE", "/drive/files/1:purge", Value::Null);
    let (st, _) = call(&s, "GET", "/drive/files/1", Value::Null);
    assert_eq!(st, 404);
    let open = open["public_url"].as_str().unwrap();
    assert_eq!(
        follow(&s, "GET", open, &[]).status,
        404,
        "purged bytes are gone"
    );
}

#[test]
fn a_white_label_member_from_invitation_to_restore() {
    let s = Sandbox::new().unwrap();
    let inv = ok(
        &s,
        "POST",
        "/white-label/members",
        json!({"email": "Jo@Example.org", "role": "client", "all_domains": true}),
    );
    let id = inv["member"]["id"].clone();
    assert_eq!(inv["member"]["status"], "pending");
    let (st, _) = call(
        &s,
        "POST",
        "/white-label/members",
        json!({"email": "jo@example.org", "role": "client", "all_domains": true}),
    );
    assert_eq!(st, 409, "invited once");
    let (st, _) = call(
        &s,
        "POST",
        &format!("/white-label/members/{id}:suspend"),
        json!({}),
    );
    assert_eq!(st, 409, "a pending invitation is not suspended");
    let accepted = follow(&s, "GET", inv["invitation_url"].as_str().unwrap(), &[]);
    assert_eq!(accepted.status, 200);
    assert_eq!(
        follow(&s, "GET", inv["invitation_url"].as_str().unwrap(), &[]).status,
        404,
        "used once"
    );
    let status = |s: &Sandbox| {
        ok(s, "GET", &format!("/white-label/members/{id}"), Value::Null)["status"].clone()
    };
    assert_eq!(status(&s), "active");
    for (action, after) in [("suspend", "suspended"), ("resume", "active")] {
        ok(
            &s,
            "POST",
            &format!("/white-label/members/{id}:{action}"),
            json!({}),
        );
        assert_eq!(status(&s), after);
    }
    ok(
        &s,
        "DELETE",
        &format!("/white-label/members/{id}"),
        Value::Null,
    );
    let listed =
        |q: &str| ok(&s, "GET", &format!("/white-label/members{q}"), Value::Null).to_string();
    assert!(
        !listed("").contains("jo@example.org")
            && listed("?include_removed=true").contains("jo@example.org")
    );
    ok(
        &s,
        "POST",
        &format!("/white-label/members/{id}:restore"),
        json!({}),
    );
    assert_eq!(status(&s), "active");
    let (st, v) = call(&s, "POST", "/white-label/members/1:suspend", json!({}));
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (403, Some("owner_immutable"))
    );
    let log = ok(
        &s,
        "GET",
        &format!("/white-label/activity?member_id={id}&per_page=100"),
        Value::Null,
    );
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "member_invited",
            "member_accepted",
            "member_suspended",
            "member_resumed",
            "member_removed",
            "member_restored"
        ]
    );
}

#[test]
fn paying_agent_operations_challenge_then_record_and_a_reissued_key_replaces_the_old() {
    let s = Sandbox::new().unwrap();
    let body = json!({"quantity": 5000});
    let (st, v) = call_with(&s, "POST", "/agent/verifier-credits/topup", OPS, &[], &body);
    assert_eq!(
        (
            st,
            v["error"]["code"].as_str(),
            v["error"]["amount"].as_u64()
        ),
        (402, Some("payment_required"), Some(3900))
    );
    let (st, v) = call_with(
        &s,
        "POST",
        "/agent/verifier-credits/topup",
        OPS,
        &[("payment-authorization", "spt_other")],
        &body,
    );
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (402, Some("payment_declined"))
    );
    assert_eq!(
        ok(&s, "GET", "/verify/credits", Value::Null)["purchased"],
        0
    );
    let (st, _) = call_with(
        &s,
        "POST",
        "/agent/verifier-credits/topup",
        OPS,
        &[("payment-authorization", TEST_SHARED_PAYMENT_TOKEN)],
        &body,
    );
    assert_eq!(st, 201);
    assert_eq!(
        ok(&s, "GET", "/verify/credits", Value::Null)["purchased"],
        5000
    );
    let paid = [("payment-authorization", TEST_PAYMENT_METHOD)];
    let (st, _) = call_with(
        &s,
        "POST",
        "/agent/drive-addon",
        OPS,
        &paid,
        &json!({"size_gb": 500, "period": "yearly"}),
    );
    assert_eq!(st, 201);
    assert_eq!(ok(&s, "GET", "/drive/addon", Value::Null)["size_gb"], 500);
    let (st, _) = call_with(
        &s,
        "POST",
        "/agent/subscription",
        OPS,
        &paid,
        &json!({"plan": "pro", "period": "monthly"}),
    );
    assert_eq!(st, 201);
    assert_eq!(ok(&s, "GET", "/billing/status", Value::Null)["plan"], "pro");
    // The new key once; the old one stops working, the new one works.
    let (st, v) = call_with(
        &s,
        "POST",
        "/agent/key/reissue",
        "tm_live_signup",
        &[],
        &json!({}),
    );
    assert_eq!((st, v["data"]["status"].as_str()), (201, Some("reissued")));
    let new = v["data"]["api_token"].as_str().unwrap().to_owned();
    let (st, v) = call_with(&s, "GET", "/domains", "tm_live_signup", &[], &Value::Null);
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (401, Some("token_revoked"))
    );
    assert_eq!(
        call_with(&s, "GET", "/domains", &new, &[], &Value::Null).0,
        200
    );
}

#[test]
fn an_app_password_is_shown_once_and_rotation_replaces_it() {
    let s = Sandbox::new().unwrap();
    let p = ok(
        &s,
        "POST",
        "/mailboxes/1/app-passwords",
        json!({"name": "Mail.app"}),
    );
    let secret = p["password"].as_str().unwrap().to_owned();
    assert!(
        secret.len() == 16 && secret.bytes().all(|b| b.is_ascii_lowercase()),
        "{secret}"
    );
    let listed = ok(&s, "GET", "/mailboxes/1/app-passwords", Value::Null).to_string();
    assert!(!listed.contains(&secret) && listed.contains("Mail.app"));
    let r = ok(
        &s,
        "POST",
        &format!("/mailboxes/1/app-passwords/{}:rotate", p["id"]),
        json!({}),
    );
    assert_eq!(r["replaced_id"], p["id"]);
    assert_ne!(r["password"], json!(secret));
    let listed = ok(&s, "GET", "/mailboxes/1/app-passwords", Value::Null);
    assert_eq!(
        listed["active"], 3,
        "two seeded and the rotated one: {listed}"
    );
}
