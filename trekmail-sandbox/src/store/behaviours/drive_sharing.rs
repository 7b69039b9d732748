//! What leaves Drive or describes it: presigned download URLs, public share links (the token
//! shown once, a download cap), sync devices (their `dsync_` secret shown once), spaces and
//! storage figures, and the storage add-on.

use serde_json::{Map, Value, json};

use super::Behaviour;
use super::drive_tree::{FILES, space};
use crate::store::outside::link;
use crate::store::{Answer, Call, NOW, Store, public};

pub(super) const TABLE: &[(&str, Behaviour)] = &[
    ("drive_file_download_url", download_url),
    ("drive_share_create", share_create),
    ("drive_share_revoke", share_revoke),
    ("drive_device_create", device_create),
    ("drive_device_rotate", device_rotate),
    ("drive_storage_summary", storage),
    ("drive_space_usage", usage),
    ("drive_addon_get", addon),
    ("drive_addon_pricing", addon_pricing),
    ("drive_addon_cancellation_preview", addon_cancellation),
];

const LINKS: &str = "drive/files/share-links";

fn active_file(s: &Store, id: &Value) -> Result<Value, Answer> {
    match s.find(FILES, id, &Map::new()) {
        Some(f) if f["status"] == "active" => Ok(f),
        Some(_) => Err(Answer::error(
            409,
            "file_not_available",
            "the file is not uploaded or is in the trash",
        )),
        None => Err(Answer::not_found("file")),
    }
}

fn download_url(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    Some(match active_file(s, &c.p("file_id")) {
        Ok(f) => Answer::ok(json!({
            "url": link(&c.r.base_url, &format!("files/{}", f["id"])),
            "expires_at": "2026-01-15T09:15:00Z", "filename": f["name"],
        })),
        Err(a) => a,
    })
}

/// A random-looking secret, distinct per id.
fn secret(prefix: &str, id: i64) -> String {
    let digest = crate::store::outside::etag(format!("{prefix}{id}").as_bytes());
    format!("{prefix}{}", &digest[..24])
}

fn share_create(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let file = match active_file(s, &c.p("file_id")) {
        Ok(f) => f,
        Err(a) => return Some(a),
    };
    let id = s.id();
    let token = secret("shr_", id);
    let url = link(&c.r.base_url, &format!("share/{token}"));
    let b = c.b();
    let row = json!({"id": id, "file_id": file["id"], "expires_at": b.get("expires_at"), "max_downloads": b.get("max_downloads"), "downloads": 0, "status": "active", "created_at": NOW, "_token": token});
    s.put(LINKS, row.clone());
    if let Some(f) = s.find_mut(FILES, &file["id"], &Map::new()) {
        f["has_share_link"] = json!(true);
    }
    let mut shown = public(row);
    shown["token"] = json!(token);
    shown["public_url"] = json!(url);
    Some(Answer::created(shown))
}

fn share_revoke(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let l = s.find_mut(LINKS, &c.p("link_id"), &Map::new());
    let Some(l) = l.filter(|l| l["status"] == "active") else {
        return Some(Answer::not_found("share link"));
    };
    l["status"] = json!("revoked");
    Some(Answer::ok(public(l.clone())))
}

fn device_create(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let b = c.b();
    if s.find("mailboxes", &b["mailbox_id"], &Map::new()).is_none() {
        return Some(Answer::field("mailbox_id", "no such mailbox"));
    }
    let id = s.id();
    let row = json!({"id": id, "label": b["label"], "scopes": b["scopes"], "mailbox_id": b["mailbox_id"], "expires_in_days": b["expires_in_days"], "status": "active", "created_at": NOW});
    s.put("drive/devices", row.clone());
    Some(Answer::created(issued(c, row, id)))
}

fn issued(c: &Call<'_>, row: Value, id: i64) -> Value {
    let mut shown = row;
    shown["server_url"] = json!(format!("{}/dav", c.r.base_url));
    shown["password"] = json!(secret("dsync_", id));
    shown
}

fn device_rotate(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let d = s.find_mut("drive/devices", &c.p("device_id"), &Map::new())?;
    d["expires_in_days"] = c.b()["expires_in_days"].clone();
    d["rotated_at"] = json!(NOW);
    let row = d.clone();
    let fresh = s.id();
    Some(Answer::ok(issued(c, row, fresh)))
}

fn used(s: &Store, space: Option<&Value>) -> u64 {
    s.all(FILES)
        .iter()
        .filter(|f| space.is_none_or(|sp| f["space_id"] == *sp) && f["status"] != "uploading")
        .filter_map(|f| f["size_bytes"].as_u64())
        .sum()
}

fn quota(s: &Store) -> u64 {
    let addon = s.singleton("drive/addon", &Map::new());
    (5 + addon["size_gb"].as_u64().unwrap_or(0)) * 1024 * 1024 * 1024
}

fn storage(s: &mut Store, _: &Call<'_>) -> Option<Answer> {
    let spaces: Vec<Value> = s
        .all("drive/spaces")
        .iter()
        .map(|sp| json!({"id": sp["id"], "slug": sp["slug"], "used_bytes": used(s, Some(&sp["id"]))}))
        .collect();
    Some(Answer::ok(
        json!({"used_bytes": used(s, None), "quota_bytes": quota(s), "spaces": spaces}),
    ))
}

fn usage(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let sp = space(s, c)?;
    let files = s.all(FILES).iter().filter(|f| f["space_id"] == sp).count();
    Some(Answer::ok(
        json!({"space_id": sp, "used_bytes": used(s, Some(&sp)), "files": files, "quota_bytes": quota(s)}),
    ))
}

fn addon(s: &mut Store, _: &Call<'_>) -> Option<Answer> {
    let a = s.singleton("drive/addon", &Map::new());
    let active = a.get("size_gb").is_some();
    Some(Answer::ok(
        json!({"active": active, "size_gb": a.get("size_gb"), "period": a.get("period"), "base_quota_gb": 5}),
    ))
}

/// The published add-on steps (GB) and their monthly price in cents.
pub(super) const ADDON_STEPS: &[(u64, u64)] =
    &[(100, 300), (500, 1200), (1000, 2000), (2000, 3500)];

fn addon_pricing(_: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let currency = c.r.query.get("currency").cloned().unwrap_or(json!("EUR"));
    let steps: Vec<Value> = ADDON_STEPS
        .iter()
        .map(|(gb, cents)| json!({"size_gb": gb, "monthly_cents": cents, "yearly_cents": cents * 10}))
        .collect();
    Some(Answer::ok(json!({"currency": currency, "steps": steps})))
}

fn addon_cancellation(s: &mut Store, _: &Call<'_>) -> Option<Answer> {
    let over = used(s, None).saturating_sub(5 * 1024 * 1024 * 1024);
    Some(Answer::ok(
        json!({"ends_at": "2026-02-15T00:00:00Z", "bytes_over_base_quota": over, "files_at_risk": 0}),
    ))
}
