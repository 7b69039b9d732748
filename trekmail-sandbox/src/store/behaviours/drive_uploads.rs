//! Drive uploads as the service runs them: initiate reserves the file and hands out presigned
//! PUT URLs on the sandbox's own host (one URL, or one per part from [`MULTIPART_FROM`] bytes);
//! the bytes are PUT there (each answer carries an ETag); complete checks the parts and their
//! ETags and assembles the file, which then downloads back byte for byte; abort drops it all.
//! The real service goes multipart from 100 MB; the sandbox does from 8 MiB, so that tests can
//! exercise parts.

use serde_json::{Map, Value, json};

use super::Behaviour;
use super::drive_tree::{FILES, space};
use crate::store::outside::{etag, link};
use crate::store::{Answer, Call, NOW, Store, public};

pub(super) const TABLE: &[(&str, Behaviour)] = &[
    ("drive_upload_initiate", initiate),
    ("drive_upload_complete", complete),
    ("drive_upload_refresh_parts", refresh_parts),
    ("drive_upload_abort", abort),
];

/// Uploads of this size and above go in parts.
pub const MULTIPART_FROM: u64 = 8 * 1024 * 1024;
/// The size of each part but the last.
pub const PART_SIZE: u64 = 5 * 1024 * 1024;

fn part_url(c: &Call<'_>, file: i64, part: u64) -> Value {
    json!({"part_number": part, "upload_url": link(&c.r.base_url, &format!("uploads/{file}/{part}"))})
}

fn initiate(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let space = space(s, c)?;
    let b = c.b();
    let folder = b["folder_id"].clone();
    if !folder.is_null() && s.find("drive/folders", &folder, &Map::new()).is_none() {
        return Some(Answer::field("folder_id", "no such folder"));
    }
    let size = b["size_bytes"].as_u64().unwrap_or(0);
    let multipart = size >= MULTIPART_FROM;
    let parts = if multipart {
        size.div_ceil(PART_SIZE)
    } else {
        1
    };
    let id = s.id();
    let mime = b["client_mime"]
        .as_str()
        .unwrap_or("application/octet-stream");
    s.put(FILES, json!({"id": id, "space_id": space, "folder_id": folder, "name": b["name"], "size_bytes": size, "mime_type": mime, "status": "uploading", "scan_status": "pending", "has_share_link": false, "created_at": NOW, "_parts": parts}));
    let urls: Vec<Value> = (1..=parts).map(|n| part_url(c, id, n)).collect();
    let single = (!multipart).then(|| urls[0]["upload_url"].clone());
    Some(Answer::created(json!({
        "file_id": id, "multipart": multipart, "upload_url": single,
        "headers": {"Content-Type": mime},
        "part_size_bytes": if multipart { PART_SIZE } else { size },
        "parts": if multipart { Value::Array(urls) } else { json!([]) },
    })))
}

/// The uploading file of the request, or why not.
fn uploading(s: &Store, c: &Call<'_>) -> Result<(i64, Value), Answer> {
    let id = c.p("file_id");
    match s.find(FILES, &id, &Map::new()) {
        Some(f) if f["status"] == "uploading" => Ok((id.as_i64().unwrap_or(0), f)),
        Some(_) => Err(Answer::error(
            409,
            "upload_not_pending",
            "this upload is already completed or aborted",
        )),
        None => Err(Answer::not_found("upload")),
    }
}

fn complete(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let (id, f) = match uploading(s, c) {
        Ok(x) => x,
        Err(a) => return Some(a),
    };
    let n = f["_parts"].as_u64().unwrap_or(1);
    let listed = c.b()["parts"].as_array().cloned().unwrap_or_default();
    let mut bytes = Vec::new();
    for part in 1..=n {
        let Some(data) = s.blobs.get(&(id, part)) else {
            return Some(Answer::field(
                "parts",
                &format!("part {part} was never uploaded"),
            ));
        };
        let named = listed.iter().find(|p| p["part_number"] == part);
        if n > 1 && named.is_none_or(|p| p["etag"].as_str() != Some(etag(data).as_str())) {
            return Some(Answer::field(
                "parts",
                &format!("part {part}: missing or wrong etag"),
            ));
        }
        bytes.extend_from_slice(data);
    }
    if bytes.len() as u64 != f["size_bytes"].as_u64().unwrap_or(0) {
        return Some(Answer::field(
            "parts",
            "the uploaded bytes do not add up to size_bytes",
        ));
    }
    s.blobs.retain(|(f, _), _| *f != id);
    s.blobs.insert((id, 0), bytes);
    let file = s.find_mut(FILES, &json!(id), &Map::new())?;
    file["status"] = json!("active");
    file["scan_status"] = json!("clean");
    file["updated_at"] = json!(NOW);
    Some(Answer::ok(public(file.clone())))
}

fn refresh_parts(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let (id, f) = match uploading(s, c) {
        Ok(x) => x,
        Err(a) => return Some(a),
    };
    let n = f["_parts"].as_u64().unwrap_or(1);
    let mut parts = Vec::new();
    for p in c.b()["part_numbers"].as_array().into_iter().flatten() {
        match p.as_u64().filter(|p| (1..=n).contains(p)) {
            Some(p) => parts.push(part_url(c, id, p)),
            None => {
                return Some(Answer::field(
                    "part_numbers",
                    "names a part this upload does not have",
                ));
            }
        }
    }
    Some(Answer::ok(json!({"file_id": id, "parts": parts})))
}

fn abort(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let (id, _) = match uploading(s, c) {
        Ok(x) => x,
        Err(a) => return Some(a),
    };
    s.remove(FILES, &json!(id), &Map::new());
    s.blobs.retain(|(f, _), _| *f != id);
    Some(Answer::ok(json!({"file_id": id, "aborted": true})))
}
