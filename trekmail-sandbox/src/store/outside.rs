//! The sandbox's own links, outside the API and without a token, as the real service hands out
//! links to its storage and pages: presigned upload URLs (PUT the bytes, get an ETag), presigned
//! download URLs, public share links, and White Label invitation links (opening one accepts the
//! invitation). Every link is signed; a link with a wrong signature is a 403.

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use trekmail_api::model::Method;

use super::{NOW, Store};

/// Where the links live.
pub const OUTSIDE: &str = "/_sandbox/";

/// The answer of a link.
pub struct Outside {
    /// HTTP status.
    pub status: u16,
    /// The bytes.
    pub body: Vec<u8>,
    /// Their content type.
    pub content_type: &'static str,
    /// The ETag of stored bytes (upload parts).
    pub etag: Option<String>,
}

fn sign(path: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"trekmail-sandbox link:");
    h.update(path.as_bytes());
    format!("{:x}", h.finalize())[..24].to_owned()
}

/// A signed link below [`OUTSIDE`] on the sandbox's own host.
pub(super) fn link(base_url: &str, rest: &str) -> String {
    let path = format!("{OUTSIDE}{rest}");
    format!("{base_url}{path}?sig={}", sign(&path))
}

/// An ETag of bytes.
pub(super) fn etag(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))[..32].to_owned()
}

fn json(status: u16, v: Value) -> Outside {
    Outside {
        status,
        body: serde_json::to_vec(&v).unwrap_or_default(),
        content_type: "application/json",
        etag: None,
    }
}

fn refused(status: u16, code: &str, message: &str) -> Outside {
    json(
        status,
        json!({"error": {"code": code, "message": message, "retryable": false}}),
    )
}

impl Store {
    /// The answer to `method path?query` below [`OUTSIDE`].
    pub fn outside(&mut self, method: &str, path: &str, query: &str, body: &[u8]) -> Outside {
        let sig = query
            .split('&')
            .find_map(|p| p.strip_prefix("sig="))
            .unwrap_or_default();
        if sig != sign(path) {
            return refused(
                403,
                "bad_signature",
                "this link is not signed by the sandbox",
            );
        }
        let rest = path.strip_prefix(OUTSIDE).unwrap_or_default();
        let parts: Vec<&str> = rest.split('/').collect();
        match (Method::parse(method), parts.as_slice()) {
            (Some(Method::Put), ["uploads", file, part]) => {
                let (Ok(file), Ok(part)) = (file.parse::<i64>(), part.parse::<u64>()) else {
                    return refused(404, "not_found", "no such upload");
                };
                self.put_part(file, part, body)
            }
            (Some(Method::Get), ["files", file]) => {
                self.download(&json!(file.parse::<i64>().unwrap_or(0)))
            }
            (Some(Method::Get), ["share", token]) => self.shared(token),
            (Some(Method::Get | Method::Post), ["invitations", token]) => self.accept(token),
            _ => refused(404, "not_found", "no such link"),
        }
    }

    fn put_part(&mut self, file: i64, part: u64, body: &[u8]) -> Outside {
        let scope = serde_json::Map::new();
        let uploading = self
            .find("drive/files", &json!(file), &scope)
            .is_some_and(|f| {
                f["status"] == "uploading" && part <= f["_parts"].as_u64().unwrap_or(0)
            });
        if !uploading {
            return refused(404, "not_found", "no upload in progress for this part");
        }
        let tag = etag(body);
        self.blobs.insert((file, part), body.to_vec());
        Outside {
            status: 200,
            body: vec![],
            content_type: "text/plain",
            etag: Some(format!("\"{tag}\"")),
        }
    }

    fn download(&self, file: &Value) -> Outside {
        let found = self.find("drive/files", file, &serde_json::Map::new());
        match (found, file.as_i64()) {
            (Some(f), Some(id)) if f["status"] == "active" => Outside {
                status: 200,
                body: self.blobs.get(&(id, 0)).cloned().unwrap_or_default(),
                content_type: "application/octet-stream",
                etag: None,
            },
            _ => refused(404, "not_found", "file not found"),
        }
    }

    fn shared(&mut self, token: &str) -> Outside {
        let Some(l) = self
            .all_mut("drive/files/share-links")
            .iter_mut()
            .find(|l| l["_token"] == token && l["status"] == "active")
        else {
            return refused(404, "not_found", "share link not found or revoked");
        };
        let used = l["downloads"].as_u64().unwrap_or(0);
        if l["max_downloads"].as_u64().is_some_and(|max| used >= max) {
            return refused(
                410,
                "link_exhausted",
                "this share link reached its download cap",
            );
        }
        l["downloads"] = json!(used + 1);
        let file = l["file_id"].clone();
        self.download(&file)
    }

    fn accept(&mut self, token: &str) -> Outside {
        let Some(m) = self
            .all_mut("white-label/members")
            .iter_mut()
            .find(|m| m["_invitation"] == token && m["status"] == "pending")
        else {
            return refused(404, "not_found", "invitation not found, used or revoked");
        };
        m["status"] = json!("active");
        m["accepted_at"] = json!(NOW);
        let member = m.clone();
        self.activity("member_accepted", &member["id"]);
        json(
            200,
            json!({"accepted": true, "member_id": member["id"], "email": member["email"]}),
        )
    }
}
