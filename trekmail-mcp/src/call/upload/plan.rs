//! What the API's answer to initiate says to do with the file's bytes: one PUT, or parts of the
//! size it gives, each to a storage URL the server may use ([`storage::allowed`]), and how long
//! the whole upload may take.
//!
//! The answer is outside input: every URL is checked, the parts must cover the file exactly once
//! (numbers 1..=n, the size the API says, the last one shorter), and a plan of more than
//! [`MAX_PARTS`] parts is refused, so a hostile answer cannot make the server send the file
//! elsewhere, twice, or hold an unbounded list.

use std::time::Duration;

use serde_json::Value;
use url::Url;

use super::storage;

/// Most parts in one upload (the S3 limit storage services share).
pub const MAX_PARTS: u64 = 10_000;

/// Bytes per second the deadline allows for the bytes, beyond the call's own deadline: 1 MiB/s.
pub const MIN_RATE: u64 = 1024 * 1024;

/// One PUT: bytes `offset..offset + len` to `url`.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// 1-based part number (1 for a single PUT).
    pub number: u64,
    /// Where the bytes go.
    pub url: Url,
    /// First byte.
    pub offset: u64,
    /// Bytes.
    pub len: u64,
}

/// The upload to carry out.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The upload's id, for complete and abort.
    pub file_id: Value,
    /// Whether the storage expects parts (complete then lists their ETags).
    pub multipart: bool,
    /// Headers the API asks the PUTs to carry (`Content-Type`…).
    pub headers: Vec<(String, String)>,
    /// The PUTs, in order.
    pub parts: Vec<Part>,
}

/// The plan in `answer` (initiate's, inside `data` or not) for a file of `size` bytes, storage
/// URLs checked against `base_url`. `Err` says what is wrong with the answer.
pub fn plan(answer: &Value, size: u64, base_url: &str) -> Result<Plan, String> {
    let d = answer
        .get("data")
        .filter(|v| v.is_object())
        .unwrap_or(answer);
    let file_id = match &d["file_id"] {
        v @ (Value::Number(_) | Value::String(_)) => v.clone(),
        _ => return Err("the answer to initiate has no file_id".into()),
    };
    let mut headers = Vec::new();
    if let Some(h) = d.get("headers").filter(|h| !h.is_null()) {
        let Some(h) = h.as_object() else {
            return Err("the answer's headers are not an object".into());
        };
        for (k, v) in h {
            let v = v
                .as_str()
                .ok_or_else(|| format!("the answer's header {k} is not text"))?;
            headers.push((k.clone(), v.to_owned()));
        }
    }
    let url = |raw: &Value, which: &str| -> Result<Url, String> {
        let raw = raw
            .as_str()
            .ok_or_else(|| format!("{which} has no upload_url"))?;
        storage::allowed(raw, base_url).map_err(|e| format!("{which}: {e}"))
    };
    let multipart = d["multipart"].as_bool().unwrap_or(false);
    if !multipart {
        return Ok(Plan {
            file_id,
            multipart,
            headers,
            parts: vec![Part {
                number: 1,
                url: url(&d["upload_url"], "the upload")?,
                offset: 0,
                len: size,
            }],
        });
    }
    let part_size = d["part_size_bytes"]
        .as_u64()
        .filter(|n| *n > 0)
        .ok_or("a multipart answer without a positive part_size_bytes")?;
    let count = size.div_ceil(part_size).max(1);
    if count > MAX_PARTS {
        return Err(format!(
            "the answer splits the file into {count} parts, more than {MAX_PARTS}"
        ));
    }
    let listed = d["parts"]
        .as_array()
        .ok_or("a multipart answer without parts")?;
    if listed.len() as u64 != count {
        return Err(format!(
            "the answer lists {} parts for {count} of {part_size} bytes",
            listed.len()
        ));
    }
    let mut parts = Vec::with_capacity(listed.len());
    for n in 1..=count {
        let p = listed
            .iter()
            .find(|p| p["part_number"].as_u64() == Some(n))
            .ok_or_else(|| format!("the answer has no part {n}"))?;
        let offset = (n - 1) * part_size;
        parts.push(Part {
            number: n,
            url: url(&p["upload_url"], &format!("part {n}"))?,
            offset,
            len: part_size.min(size - offset),
        });
    }
    Ok(Plan {
        file_id,
        multipart,
        headers,
        parts,
    })
}

/// How long a whole upload of `size` bytes may take from the call's start: the call's deadline
/// (`TREKMAIL_TIMEOUT_MS`, for the state store's decisions, initiate and the slowest start) plus
/// one second per MiB of the file ([`MIN_RATE`]): 30 s + 200 s for 200 MiB with the default
/// deadline. Initiate and every part's PUT with its retries share it.
pub fn deadline(call_deadline: Duration, size: u64) -> Duration {
    call_deadline + Duration::from_secs(size.div_ceil(MIN_RATE))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    const BASE: &str = "http://127.0.0.1:8080";

    #[test]
    fn a_single_put_covers_the_file() {
        let a = json!({"data": {"file_id": 7, "multipart": false, "upload_url": "http://127.0.0.1:8080/_sandbox/u/7/1", "headers": {"Content-Type": "text/plain"}, "parts": []}});
        let p = plan(&a, 11, BASE).unwrap();
        assert_eq!(p.file_id, json!(7));
        assert_eq!(p.parts.len(), 1);
        assert_eq!((p.parts[0].offset, p.parts[0].len), (0, 11));
        assert_eq!(
            p.headers,
            vec![("Content-Type".into(), "text/plain".into())]
        );
    }

    #[test]
    fn parts_cover_the_file_once_in_order_whatever_the_listing_order() {
        let u =
            |n: u64| json!({"part_number": n, "upload_url": format!("https://s.example.com/p{n}")});
        let a = json!({"file_id": "f1", "multipart": true, "part_size_bytes": 5, "parts": [u(3), u(1), u(2)]});
        let p = plan(&a, 12, BASE).unwrap();
        let ranges: Vec<(u64, u64, u64)> = p
            .parts
            .iter()
            .map(|p| (p.number, p.offset, p.len))
            .collect();
        assert_eq!(ranges, vec![(1, 0, 5), (2, 5, 5), (3, 10, 2)]);
    }

    #[test]
    fn a_hostile_answer_is_refused() {
        let u = |n: u64, url: &str| json!({"part_number": n, "upload_url": url});
        for (a, why) in [
            (
                json!({"multipart": false, "upload_url": "https://s.example.com/x"}),
                "file_id",
            ),
            (
                json!({"file_id": 1, "multipart": false, "upload_url": "http://evil.example.com/x"}),
                "not https",
            ),
            (
                json!({"file_id": 1, "multipart": false, "upload_url": "https://10.1.2.3/x"}),
                "refused",
            ),
            (
                json!({"file_id": 1, "multipart": true, "part_size_bytes": 0, "parts": []}),
                "part_size_bytes",
            ),
            (
                json!({"file_id": 1, "multipart": true, "part_size_bytes": 5, "parts": [u(1, "https://s.example.com/1")]}),
                "lists 1 parts for 3",
            ),
            (
                json!({"file_id": 1, "multipart": true, "part_size_bytes": 5, "parts": [u(1, "https://s.example.com/1"), u(1, "https://s.example.com/1"), u(3, "https://s.example.com/3")]}),
                "no part 2",
            ),
            (
                json!({"file_id": 1, "multipart": true, "part_size_bytes": 1, "parts": []}),
                "more than",
            ),
            (
                json!({"file_id": 1, "multipart": false, "upload_url": "https://s.example.com/x", "headers": {"a": 1}}),
                "not text",
            ),
        ] {
            let size = if why == "more than" {
                MAX_PARTS + 1
            } else {
                12
            };
            let e = plan(&a, size, BASE).unwrap_err();
            assert!(e.contains(why), "{a}: {e}");
        }
    }

    #[test]
    fn the_deadline_grows_with_the_file() {
        let d = Duration::from_secs(30);
        assert_eq!(deadline(d, 0), d);
        assert_eq!(deadline(d, 200 * 1024 * 1024), Duration::from_secs(230));
        assert_eq!(deadline(d, 1), Duration::from_secs(31));
    }
}
