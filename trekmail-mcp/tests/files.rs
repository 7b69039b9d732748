//! Files as files: what the agent receives from the file tools (download_attachment,
//! download_all_attachments, get_raw_message, export_contacts), the inline budget with its
//! resource_link, resources/read of the link, and the output schemas checked by a real JSON
//! Schema validator.
#![allow(clippy::unwrap_used)]

mod support;

use base64::Engine as _;
use rmcp::model::{CallToolResult, ResourceContents};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::{Harness, MSG_TOKEN, OPS_TOKEN, Opts, is_error, output_schema, schema_errors, text};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The structuredContent of `r`, checked against the tool's outputSchema by a JSON Schema
/// validator.
fn valid_structured(h: &Harness, tool: &str, r: &CallToolResult) -> Value {
    let structured = r.structured_content.clone().expect("structuredContent");
    let errors = schema_errors(&output_schema(&h.server, tool), &structured);
    assert!(errors.is_empty(), "{tool}: {errors:?} in {structured}");
    structured
}

/// Every non-text block of a result, as JSON.
fn blocks(r: &CallToolResult) -> Vec<Value> {
    r.content
        .iter()
        .filter(|c| c.as_text().is_none())
        .map(|c| serde_json::to_value(c).unwrap())
        .collect()
}

#[tokio::test]
async fn an_image_attachment_is_image_content_and_its_metadata_has_no_bytes() {
    let h = Harness::start(Opts::default()).await;
    let png = b"\x89PNG\r\n\x1a\n fake png bytes".to_vec();
    h.answer_json(
        200,
        json!({"data": {"filename": "logo.png", "content_type": "image/png", "size": png.len(), "content_base64": b64(&png)}}),
    )
    .await;
    let r = h
        .call("download_attachment", json!({"uid": 5, "index": 0}))
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    let image = r.content.iter().find_map(|c| c.as_image()).unwrap();
    assert_eq!(image.mime_type, "image/png");
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(&image.data)
            .unwrap(),
        png
    );
    let s = valid_structured(&h, "download_attachment", &r);
    assert_eq!(
        s,
        json!({"name": "logo.png", "media_type": "image/png", "size": png.len(), "sha256": sha(&png), "uri": "trekmail://messages/5/attachments/0"})
    );
    // The bytes travel once: only the image block carries them.
    let whole = serde_json::to_string(&r).unwrap();
    assert_eq!(whole.matches(&b64(&png)).count(), 1, "{whole}");
}

#[tokio::test]
async fn a_contacts_export_is_text_with_or_without_the_data_envelope() {
    let h = Harness::start(Opts::default()).await;
    let csv = "name,email\nZoë,zoe@example.com\n";
    for answer in [
        json!({"data": {"format": "csv", "filename": "contacts.csv", "content_type": "text/csv; charset=utf-8", "content_base64": b64(csv.as_bytes())}}),
        json!({"format": "csv", "filename": "contacts.csv", "content_type": "text/csv; charset=utf-8", "content_base64": b64(csv.as_bytes())}),
    ] {
        h.answer_json(200, answer).await;
        let r = h.call("export_contacts", json!({})).await;
        assert!(!is_error(&r), "{}", text(&r));
        assert!(
            r.content
                .iter()
                .any(|c| c.as_text().is_some_and(|t| t.text == csv))
        );
        let s = valid_structured(&h, "export_contacts", &r);
        // The answer's other fields are kept; the bytes are not.
        assert_eq!(s["format"], "csv");
        assert_eq!(s["name"], "contacts.csv");
        assert!(s.get("content_base64").is_none());
        assert_eq!(s["size"], csv.len());
    }
    // A vCard without a stated type: the extension says it, and it is text.
    let vcf = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zoë\r\nEND:VCARD\r\n";
    h.answer_json(
        200,
        json!({"data": {"format": "vcard", "filename": "contacts.vcf", "content_base64": b64(vcf.as_bytes())}}),
    )
    .await;
    let r = h.call("export_contacts", json!({"format": "vcard"})).await;
    assert!(
        r.content
            .iter()
            .any(|c| c.as_text().is_some_and(|t| t.text == vcf))
    );
    assert_eq!(
        valid_structured(&h, "export_contacts", &r)["media_type"],
        "text/vcard"
    );
}

#[tokio::test]
async fn a_raw_message_is_text_when_utf8_and_a_blob_when_8bit_never_u_fffd() {
    let h = Harness::start(Opts::default()).await;
    let utf8 = "From: a@example.com\r\nSubject: café\r\n\r\nHello\r\n";
    h.answer_json(
        200,
        json!({"data": {"raw_base64": b64(utf8.as_bytes()), "size": utf8.len()}}),
    )
    .await;
    let r = h.call("get_raw_message", json!({"uid": 5})).await;
    // A raw message is outside text: enclosed by the result's markers (tests/outside.rs).
    assert!(r.content.iter().any(|c| {
        c.as_text()
            .is_some_and(|t| t.text.starts_with("[out ") && t.text.contains(utf8))
    }));
    let s = valid_structured(&h, "get_raw_message", &r);
    assert_eq!(s["media_type"], "message/rfc822");
    assert_eq!(s["name"], "message.eml");
    // 8-bit mail (ISO-8859-1 body): not faithful as UTF-8, so a blob of the exact bytes.
    let latin1: Vec<u8> =
        b"Subject: caf\xe9\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\ncaf\xe9\r\n"
            .to_vec();
    h.answer_json(
        200,
        json!({"data": {"raw_base64": b64(&latin1), "size": latin1.len()}}),
    )
    .await;
    let r = h.call("get_raw_message", json!({"uid": 6})).await;
    assert!(!serde_json::to_string(&r).unwrap().contains('\u{fffd}'));
    let blob = r
        .content
        .iter()
        .find_map(|c| c.as_resource().map(|e| e.resource.clone()))
        .unwrap();
    let ResourceContents::BlobResourceContents {
        blob,
        mime_type,
        uri,
        ..
    } = blob
    else {
        panic!("expected a blob")
    };
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(blob)
            .unwrap(),
        latin1
    );
    assert_eq!(mime_type.as_deref(), Some("message/rfc822"));
    assert_eq!(uri, "trekmail://messages/6/raw");
    assert_eq!(
        valid_structured(&h, "get_raw_message", &r)["sha256"],
        sha(&latin1)
    );
}

#[tokio::test]
async fn a_zip_is_an_embedded_resource() {
    let h = Harness::start(Opts::default()).await;
    let zip = b"PK\x03\x04 not really a zip".to_vec();
    h.answer_json(200, json!({"data": {"filename": "all.zip", "content_type": "application/zip", "content_base64": b64(&zip)}}))
        .await;
    let r = h
        .call(
            "download_all_attachments",
            json!({"uid": 9, "folder": "Archive/2024"}),
        )
        .await;
    let b = blocks(&r);
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(b[0]["type"], "resource");
    assert_eq!(b[0]["resource"]["mimeType"], "application/zip");
    assert_eq!(b[0]["resource"]["blob"], b64(&zip));
    // The URI names the API resource, folder included, encoded as one value.
    assert_eq!(
        b[0]["resource"]["uri"],
        "trekmail://messages/9/attachments?folder=Archive%2F2024"
    );
    valid_structured(&h, "download_all_attachments", &r);
}

#[tokio::test]
async fn above_the_inline_budget_a_resource_link_that_resources_read_fetches_whole() {
    let h = Harness::start(Opts {
        extra: vec![("TREKMAIL_MAX_INLINE_BYTES", "1000".into())],
        ..Opts::default()
    })
    .await;
    let pdf: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    Mock::given(method("GET"))
        .and(path("/api/v1/messages/5/attachments/2"))
        .and(query_param("folder", "Archive/2024"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"data": {"filename": "report.pdf", "content_type": "application/pdf", "size": pdf.len(), "content_base64": b64(&pdf)}}),
        ))
        .expect(2)
        .mount(&h.mock)
        .await;
    let r = h
        .call(
            "download_attachment",
            json!({"uid": 5, "index": 2, "folder": "Archive/2024"}),
        )
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    let uri = "trekmail://messages/5/attachments/2?folder=Archive%2F2024";
    let link = r.content.iter().find_map(|c| c.as_resource_link()).unwrap();
    assert_eq!(link.uri, uri);
    assert_eq!(link.name, "report.pdf");
    assert_eq!(link.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(link.size, Some(5000));
    assert!(text(&r).contains("TREKMAIL_MAX_INLINE_BYTES"));
    let whole = serde_json::to_string(&r).unwrap();
    // The file name is outside text: markers and their notice come on top.
    assert!(whole.len() < 1400, "{} bytes: {whole}", whole.len());
    assert_eq!(valid_structured(&h, "download_attachment", &r)["uri"], uri);
    // resources/read: fetched again from the API, whole.
    let read = h.server.read(uri).await.unwrap();
    let [
        ResourceContents::BlobResourceContents {
            blob, mime_type, ..
        },
    ] = &read.contents[..]
    else {
        panic!("{read:?}")
    };
    assert_eq!(mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(blob)
            .unwrap(),
        pdf
    );
}

#[tokio::test]
async fn resources_read_refuses_uris_that_name_no_file_and_checks_arguments() {
    let h = Harness::start(Opts::default()).await;
    for uri in [
        "trekmail://domains/7",
        "https://example.com/messages/5/raw",
        "trekmail://messages/5/raw?token=x",
        "trekmail://messages/five/raw",
        "trekmail://messages/5/attachments/0/extra",
    ] {
        assert!(h.server.read(uri).await.is_err(), "{uri}");
    }
    // The tool's checks apply: uid must be at least 1.
    let e = h
        .server
        .read("trekmail://messages/0/raw")
        .await
        .unwrap_err();
    assert!(e.message.contains("uid"), "{e:?}");
    assert!(h.requests().await.is_empty());
}

#[tokio::test]
async fn resources_read_needs_the_tool_listed_with_this_servers_token() {
    let h = Harness::start(Opts {
        message: false,
        ..Opts::default()
    })
    .await;
    assert!(h.server.read("trekmail://messages/5/raw").await.is_err());
    assert!(h.server.resource_templates().is_empty());
    assert!(h.requests().await.is_empty());
}

#[tokio::test]
async fn resource_templates_name_every_file_tool() {
    let h = Harness::start(Opts::default()).await;
    let t: Vec<(String, String)> = h
        .server
        .resource_templates()
        .into_iter()
        .map(|t| (t.name.clone(), t.uri_template.clone()))
        .collect();
    assert_eq!(
        t,
        [
            (
                "download_attachment".into(),
                "trekmail://messages/{uid}/attachments/{index}{?folder,external_account_id}".into()
            ),
            (
                "download_all_attachments".into(),
                "trekmail://messages/{uid}/attachments{?folder,external_account_id}".into()
            ),
            (
                "get_raw_message".into(),
                "trekmail://messages/{uid}/raw{?folder,external_account_id}".into()
            ),
            (
                "export_contacts".into(),
                "trekmail://messages/contacts/export{?format}".into()
            ),
        ]
    );
}

#[tokio::test]
async fn an_answer_without_the_file_is_passed_through_once() {
    let h = Harness::start(Opts::default()).await;
    let answer = json!({"data": {"filename": "x.bin", "url": "https://files.example/x"}});
    h.answer_json(200, answer.clone()).await;
    let r = h
        .call("download_attachment", json!({"uid": 5, "index": 0}))
        .await;
    assert!(is_error(&r));
    let t = text(&r);
    assert_eq!(t.matches("https://files.example/x").count(), 1, "{t}");
    assert!(t.contains(&answer.to_string()), "{t}");
    assert!(r.structured_content.is_none());
    // Base64 that does not decode is not a file either.
    h.answer_json(200, json!({"data": {"content_base64": "***"}}))
        .await;
    let r = h
        .call("download_attachment", json!({"uid": 5, "index": 0}))
        .await;
    assert!(is_error(&r) && text(&r).contains("***"));
}

#[tokio::test]
async fn file_tools_and_only_they_declare_a_file_metadata_schema() {
    let h = Harness::start(Opts::default()).await;
    let with: Vec<String> = h
        .server
        .tools()
        .into_iter()
        .filter(|t| {
            t.output_schema.as_ref().is_some_and(|s| {
                s.get("required")
                    .is_some_and(|r| r.to_string().contains("sha256"))
            })
        })
        .map(|t| t.name.to_string())
        .collect();
    // A file's metadata schema is the file tools' alone (others describe their answers:
    // tests/answers.rs).
    assert_eq!(
        with,
        [
            "download_attachment",
            "download_all_attachments",
            "get_raw_message",
            "export_contacts"
        ]
    );
    for t in h
        .server
        .tools()
        .into_iter()
        .filter(|t| t.output_schema.is_some())
    {
        let s = Value::Object((*t.output_schema.unwrap()).clone());
        assert!(jsonschema::meta::is_valid(&s), "{}: {s}", t.name);
        // The bytes are never part of it.
        assert!(!s.to_string().contains("base64"), "{}: {s}", t.name);
    }
}

#[tokio::test]
async fn a_token_inside_a_file_never_reaches_the_agent() {
    // base64 hides the token from the scrub of the raw answer: the decoded file is scrubbed too.
    let h = Harness::start(Opts {
        extra: vec![("TREKMAIL_MAX_INLINE_BYTES", "100".into())],
        ..Opts::default()
    })
    .await;
    let note = format!("ops {OPS_TOKEN} and msg {MSG_TOKEN} pasted in a note\n");
    for (index, body) in [(0, note.clone()), (1, note.repeat(10))] {
        Mock::given(method("GET"))
            .and(path(format!("/api/v1/messages/5/attachments/{index}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
                "filename": "note.txt", "content_type": "text/plain",
                "size": body.len(), "content_base64": b64(body.as_bytes())}})))
            .mount(&h.mock)
            .await;
    }
    // Inline (under the budget) as text.
    let r = h
        .call("download_attachment", json!({"uid": 5, "index": 0}))
        .await;
    let whole = serde_json::to_string(&r).unwrap();
    assert!(!is_error(&r), "{whole}");
    assert!(
        whole.contains("[redacted] and msg [redacted] pasted"),
        "{whole}"
    );
    // Over the budget: the link, then resources/read.
    let r = h
        .call("download_attachment", json!({"uid": 5, "index": 1}))
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    let read = h
        .server
        .read("trekmail://messages/5/attachments/1")
        .await
        .unwrap();
    let all = format!(
        "{} {}",
        serde_json::to_string(&r).unwrap(),
        serde_json::to_string(&read).unwrap()
    );
    for secret in [OPS_TOKEN, MSG_TOKEN] {
        assert!(!all.contains(secret), "a token reached the agent: {all}");
        assert!(
            !all.contains(&b64(secret.as_bytes())[..16]),
            "a token's base64 reached the agent"
        );
    }
    assert!(all.contains("[redacted]"), "{all}");
}
