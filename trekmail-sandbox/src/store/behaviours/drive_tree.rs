//! Drive folders and files: browse (filtered, sorted and paged like any list), move, trash with
//! everything below, restore, purge for good, and the same in bulk. Trashed items leave the
//! folder listings and appear in the space's trash.

use serde_json::{Map, Value, json};

use super::Behaviour;
use crate::store::{Answer, Call, NOW, Store, list, public};

pub(super) const TABLE: &[(&str, Behaviour)] = &[
    ("drive_browse_folder", |s, c| {
        browse(s, c, Some(c.p("folder_id")))
    }),
    ("drive_browse_root", |s, c| browse(s, c, None)),
    ("drive_folder_tree", tree),
    ("drive_select_all_ids", |s, c| {
        all_ids(s, c, c.p("folder_id"))
    }),
    ("drive_select_all_root_ids", |s, c| {
        all_ids(s, c, Value::Null)
    }),
    ("drive_folder_create", create_folder),
    ("drive_file_move", |s, c| move_to(s, c, FILES, "folder_id")),
    ("drive_folder_move", |s, c| {
        move_to(s, c, FOLDERS, "parent_id")
    }),
    ("drive_file_trash", |s, c| {
        set_status(s, c, FILES, "trashed")
    }),
    ("drive_folder_trash", |s, c| {
        set_status(s, c, FOLDERS, "trashed")
    }),
    ("drive_file_restore", |s, c| {
        set_status(s, c, FILES, "active")
    }),
    ("drive_folder_restore", |s, c| {
        set_status(s, c, FOLDERS, "active")
    }),
    ("drive_file_purge", |s, c| purge_one(s, c, FILES)),
    ("drive_folder_purge", |s, c| purge_one(s, c, FOLDERS)),
    ("drive_trash_list", trash_list),
    ("drive_trash_empty", trash_empty),
    ("drive_bulk_trash", |s, c| bulk(s, c, Some("trashed"))),
    ("drive_bulk_restore", |s, c| bulk(s, c, Some("active"))),
    ("drive_bulk_move", |s, c| bulk(s, c, None)),
    ("drive_bulk_purge", bulk_purge),
];

pub(super) const FILES: &str = "drive/files";
pub(super) const FOLDERS: &str = "drive/folders";

/// The space a request names (`account`, `mailbox:1` or its number).
pub(super) fn space(s: &Store, c: &Call<'_>) -> Option<Value> {
    s.find("drive/spaces", &c.p("space"), &Map::new())
        .map(|v| v["id"].clone())
}

/// A folder or file as a listing shows it.
fn entry(kind: &str, v: &Value) -> Value {
    let mut e = public(v.clone());
    e["type"] = json!(kind);
    e["size"] = v.get("size_bytes").cloned().unwrap_or(json!(0));
    e["date"] = v["updated_at"]
        .as_str()
        .map_or(v["created_at"].clone(), |d| json!(d));
    e
}

/// The folders and files of `space` whose parent field is `parent` and status is `status`.
fn children(s: &Store, space: &Value, parent: Option<&Value>, status: &str) -> Vec<Value> {
    let pick = |coll: &str, field: &str, kind: &str| -> Vec<Value> {
        s.all(coll)
            .into_iter()
            .filter(|v| v["space_id"] == *space && v["status"] == status)
            .filter(|v| parent.is_none_or(|p| v[field] == *p))
            .map(|v| entry(kind, &v))
            .collect()
    };
    let mut out = pick(FOLDERS, "parent_id", "folder");
    out.extend(pick(FILES, "folder_id", "file"));
    out
}

/// One folder's entries, or the root's (`folder` `None`).
fn browse(s: &mut Store, c: &Call<'_>, folder: Option<Value>) -> Option<Answer> {
    let space = space(s, c)?;
    let parent = match folder {
        None => Value::Null,
        Some(id) => match s.find(FOLDERS, &id, &Map::new()) {
            Some(f) if f["space_id"] == space && f["status"] == "active" => f["id"].clone(),
            _ => return Some(Answer::not_found("folder")),
        },
    };
    let items = children(s, &space, Some(&parent), "active");
    Some(list::answer(c.r.op, items, &c.r.query))
}

fn subtree(s: &Store, space: &Value, parent: &Value) -> Vec<Value> {
    s.all(FOLDERS)
        .into_iter()
        .filter(|f| f["space_id"] == *space && f["parent_id"] == *parent && f["status"] == "active")
        .map(|f| {
            let below = subtree(s, space, &f["id"]);
            json!({"id": f["id"], "name": f["name"], "children": below})
        })
        .collect()
}

fn tree(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let space = space(s, c)?;
    let folders = subtree(s, &space, &Value::Null);
    Some(Answer::ok(json!({"space_id": space, "folders": folders})))
}

fn all_ids(s: &mut Store, c: &Call<'_>, folder: Value) -> Option<Answer> {
    let space = space(s, c)?;
    let items = children(s, &space, Some(&folder), "active");
    let ids = |kind: &str| -> Vec<Value> {
        items
            .iter()
            .filter(|v| v["type"] == kind)
            .map(|v| v["id"].clone())
            .collect()
    };
    Some(Answer::ok(
        json!({"folder_ids": ids("folder"), "file_ids": ids("file")}),
    ))
}

fn create_folder(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let space = space(s, c)?;
    let b = c.b();
    let parent = b["parent_id"].clone();
    if !parent.is_null()
        && s.find(FOLDERS, &parent, &Map::new())
            .is_none_or(|p| p["space_id"] != space || p["status"] != "active")
    {
        return Some(Answer::field("parent_id", "no such folder in this space"));
    }
    let taken = children(s, &space, Some(&parent), "active")
        .iter()
        .any(|v| v["type"] == "folder" && v["name"] == b["name"]);
    if taken {
        return Some(Answer::error(
            409,
            "conflict",
            "a folder of that name exists here",
        ));
    }
    let id = s.id();
    let f = json!({"id": id, "space_id": space, "parent_id": parent, "name": b["name"], "color": b.get("color"), "is_shared": b["is_shared"] == true, "status": "active", "created_at": NOW});
    s.put(FOLDERS, f.clone());
    Some(Answer::created(f))
}

fn move_to(s: &mut Store, c: &Call<'_>, coll: &str, field: &str) -> Option<Answer> {
    let target = c.b()[field].clone();
    if !target.is_null() && s.find(FOLDERS, &target, &Map::new()).is_none() {
        return Some(Answer::field(field, "no such folder"));
    }
    let own = c.r.op.path_params().last().cloned().unwrap_or_default();
    if coll == FOLDERS && target == c.p(&own) {
        return Some(Answer::field(field, "a folder cannot move into itself"));
    }
    let item = s.find_mut(coll, &c.p(&own), &Map::new())?;
    item[field] = target;
    item["updated_at"] = json!(NOW);
    Some(Answer::ok(public(item.clone())))
}

/// Trash or restore one item; a folder takes everything below it along.
fn set_status(s: &mut Store, c: &Call<'_>, coll: &str, status: &str) -> Option<Answer> {
    let own = c.r.op.path_params().last().cloned().unwrap_or_default();
    let id = c.p(&own);
    s.find(coll, &id, &Map::new())?;
    if coll == FOLDERS {
        mark_below(s, &id, status);
    }
    if status == "trashed" && coll == FILES {
        // A trashed file is no longer shared.
        for l in s.all_mut("drive/files/share-links").iter_mut() {
            if l["file_id"] == id {
                l["status"] = json!("revoked");
            }
        }
    }
    let item = s.find_mut(coll, &id, &Map::new())?;
    item["status"] = json!(status);
    item["trashed_at"] = if status == "trashed" {
        json!(NOW)
    } else {
        Value::Null
    };
    Some(Answer::ok(public(item.clone())))
}

fn mark_below(s: &mut Store, folder: &Value, status: &str) {
    let subfolders: Vec<Value> = s
        .all(FOLDERS)
        .into_iter()
        .filter(|f| f["parent_id"] == *folder)
        .map(|f| f["id"].clone())
        .collect();
    for f in s
        .all_mut(FILES)
        .iter_mut()
        .filter(|f| f["folder_id"] == *folder)
    {
        f["status"] = json!(status);
    }
    for sub in subfolders {
        mark_below(s, &sub, status);
        if let Some(f) = s.find_mut(FOLDERS, &sub, &Map::new()) {
            f["status"] = json!(status);
        }
    }
}

/// Purges a trashed item for good (its bytes too); an item not in the trash is a 409.
pub(super) fn purge(s: &mut Store, coll: &str, id: &Value) -> Result<(), Answer> {
    let item = s
        .find(coll, id, &Map::new())
        .ok_or_else(|| Answer::not_found(if coll == FILES { "file" } else { "folder" }))?;
    if item["status"] != "trashed" {
        return Err(Answer::error(
            409,
            "not_in_trash",
            "only trashed items can be purged; trash it first",
        ));
    }
    s.remove(coll, id, &Map::new());
    if let Some(n) = id.as_i64() {
        s.blobs.retain(|(f, _), _| *f != n);
    }
    Ok(())
}

fn purge_one(s: &mut Store, c: &Call<'_>, coll: &str) -> Option<Answer> {
    let own = c.r.op.path_params().last().cloned().unwrap_or_default();
    let id = c.p(&own);
    Some(match purge(s, coll, &id) {
        Ok(()) => Answer::ok(json!({"id": id, "purged": true})),
        Err(a) => a,
    })
}

fn trash_list(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let space = space(s, c)?;
    let items = children(s, &space, None, "trashed");
    Some(list::answer(c.r.op, items, &c.r.query))
}

fn trash_empty(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let space = space(s, c)?;
    let mut purged = 0;
    for coll in [FILES, FOLDERS] {
        let ids: Vec<Value> = s
            .all(coll)
            .into_iter()
            .filter(|v| v["space_id"] == space && v["status"] == "trashed")
            .map(|v| v["id"].clone())
            .collect();
        for id in ids {
            purged += usize::from(purge(s, coll, &id).is_ok());
        }
    }
    Some(Answer::ok(json!({"purged": purged})))
}

/// The ids a bulk request names, per collection.
fn named(c: &Call<'_>) -> [(&'static str, Vec<Value>); 2] {
    let ids = |k: &str| c.b()[k].as_array().cloned().unwrap_or_default();
    [(FILES, ids("file_ids")), (FOLDERS, ids("folder_ids"))]
}

fn bulk(s: &mut Store, c: &Call<'_>, status: Option<&str>) -> Option<Answer> {
    let target = c.b()["target_folder_id"].clone();
    let mut done = 0;
    for (coll, ids) in named(c) {
        for id in ids {
            if status.is_some_and(|st| st == "trashed") && coll == FOLDERS {
                mark_below(s, &id, "trashed");
            }
            let field = if coll == FILES {
                "folder_id"
            } else {
                "parent_id"
            };
            if let Some(item) = s.find_mut(coll, &id, &Map::new()) {
                match status {
                    Some(st) => item["status"] = json!(st),
                    None => item[field] = target.clone(),
                }
                done += 1;
            }
        }
    }
    Some(Answer::ok(json!({"affected": done})))
}

fn bulk_purge(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let mut purged = 0;
    let mut refused = Vec::new();
    for (coll, ids) in named(c) {
        for id in ids {
            match purge(s, coll, &id) {
                Ok(()) => purged += 1,
                Err(_) => refused.push(id),
            }
        }
    }
    Some(Answer::ok(json!({"purged": purged, "refused": refused})))
}
