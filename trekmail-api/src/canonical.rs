//! The one canonical JSON of the workspace: compact, object keys sorted (bytewise) at every
//! depth, chosen keys left out. The MCP server derives idempotency keys from it (so its output
//! must never change: the golden wire cases pin the keys), the spec's lint compares schemas
//! with it.
//!
//! Compiled twice, like `model/format.rs`: as `trekmail_api::canonical` and, through `#[path]`,
//! in `trekmail-spec`, which cannot depend on the client it writes. It needs serde_json only.

use serde_json::Value;

/// `v` as compact text with object keys sorted at every depth and the keys named in `skip`
/// left out at every depth.
pub fn canonical_json(v: &Value, skip: &[&str]) -> String {
    fn sorted(v: &Value, skip: &[&str]) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> =
                    m.keys().filter(|k| !skip.contains(&k.as_str())).collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k], skip)))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(|v| sorted(v, skip)).collect()),
            o => o.clone(),
        }
    }
    sorted(v, skip).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_sorted_at_every_depth_and_skipped_keys_left_out() {
        let v = json!({"b": [{"z": 1, "a": {"y": null, "x": "é"}}], "a": 1.5, "description": "d",
            "c": {"description": "inner", "k": true}});
        assert_eq!(
            canonical_json(&v, &[]),
            r#"{"a":1.5,"b":[{"a":{"x":"é","y":null},"z":1}],"c":{"description":"inner","k":true},"description":"d"}"#
        );
        assert_eq!(
            canonical_json(&v, &["description"]),
            r#"{"a":1.5,"b":[{"a":{"x":"é","y":null},"z":1}],"c":{"k":true}}"#
        );
    }
}
