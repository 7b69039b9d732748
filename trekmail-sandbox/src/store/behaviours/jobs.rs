//! Jobs and checks that connect elsewhere: SMTP tests, migration checks and batches, address
//! verification (one, or a job with a CSV download).

use serde_json::{Map, Value, json};

use super::Behaviour;
use crate::store::{Answer, Call, NOW, Store, public};

pub(super) const TABLE: &[(&str, Behaviour)] = &[
    ("test_smtp", test_smtp),
    ("test_migration_connection", test_migration_connection),
    ("preview_bulk_migration", preview_bulk_migration),
    ("start_bulk_migration", start_bulk_migration),
    ("verify_email", verify_email),
    ("verify_job_download", verify_job_download),
    ("verify_cancel_job", verify_cancel_job),
];

fn test_smtp(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let id = format!("00000000-0000-4000-8000-{:012}", s.id());
    let job = json!({"id": id, "job_id": id, "status": "running", "progress": 0, "host": c.b()["host"], "port": c.b()["port"]});
    s.put("smtp:test-status", job.clone());
    Some(Answer::accepted(job))
}

fn test_migration_connection(_: &mut Store, _: &Call<'_>) -> Option<Answer> {
    Some(Answer::ok(
        json!({"ok": true, "folders": ["INBOX", "Sent", "Archive"], "message_count": 42}),
    ))
}

fn preview_bulk_migration(_: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let rows = rows(c.b());
    Some(Answer::ok(
        json!({"valid": rows.len(), "rows": rows, "invalid": 0}),
    ))
}

fn start_bulk_migration(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let id = s.id();
    let jobs: Vec<Value> = rows(c.b())
        .into_iter()
        .map(|mut row| {
            let jid = s.id();
            row["id"] = json!(jid);
            row["batch_id"] = json!(id);
            row["status"] = json!("running");
            s.put("migrations/bulk/jobs", row.clone());
            row
        })
        .collect();
    let batch = json!({"id": id, "batch_id": id, "status": "running", "progress": 0, "total": jobs.len(), "jobs": jobs, "created_at": NOW});
    s.put("migrations/bulk", batch.clone());
    Some(Answer::created(batch))
}

fn verify_email(_: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let b = c.b();
    Some(Answer::ok(
        json!({"email": b["email"], "result": "valid", "score": 0.98, "mode": b.get("mode")}),
    ))
}

fn verify_job_download(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let job = s.find("verify/bulk", &c.p("job_id"), &Map::new())?;
    if job["status"] != "completed" {
        return Some(Answer::error(
            409,
            "job_not_ready",
            "the job has not finished yet; poll verify_job_status",
        ));
    }
    let mut csv = String::from("email,result\n");
    for e in job["emails"].as_array().into_iter().flatten() {
        csv.push_str(&format!("{},valid\n", e.as_str().unwrap_or_default()));
    }
    Some(Answer {
        status: 200,
        body: Value::Null,
        file: Some(("text/csv", csv.into_bytes())),
    })
}

fn verify_cancel_job(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let job = s.find_mut("verify/bulk", &c.p("job_id"), &Map::new())?;
    job["status"] = json!("cancelled");
    Some(Answer::ok(public(job.clone())))
}

/// `source_email,source_password,target_email` rows; passwords are dropped.
fn rows(b: &Value) -> Vec<Value> {
    b["data"]
        .as_str()
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split(',').map(str::trim).collect();
            json!({"source_email": cols.first(), "target_email": cols.get(2)})
        })
        .collect()
}
