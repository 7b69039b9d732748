//! Memory bounded whatever the JSON's shape. Parsing builds a tree whose size follows the number
//! of values, not the number of bytes: a 3 MB body of 330,000 tiny keys took about 200 MB to
//! parse (rmcp's message types, then the arguments, then the checks), where 3 MB of one string
//! takes a few copies of 3 MB. So every message (an HTTP body, a stdio line) is scanned on its
//! raw bytes before anything is built: no allocation, one pass, stopping at the first bound
//! passed. Bounded: nesting depth, members of one object, items of one array, and the number of
//! values against the size ([`MAX_VALUES_FREE`] plus one per [`BYTES_PER_VALUE`] bytes), so a
//! message costs at most [`COST_FACTOR`] times its size plus [`MAX_VALUES_FREE`] values
//! ([`Scan::cost`]).
//! Legitimate messages are far from every bound: the largest argument arrays the API takes hold
//! 100 items.
//!
//! The scan does not validate JSON (the parser after it does); it counts what a parse of the
//! same bytes would build, and reads the top-level `id` so a refusal can answer the request.

use rmcp::model::RequestId;

/// Deepest nesting of objects and arrays (serde_json refuses past 128; tool arguments sit at
/// depth 3 of a request and the API's documents nest a few levels more).
pub const MAX_DEPTH: usize = 64;
/// Most members of one object and items of one array.
pub const MAX_ENTRIES: usize = 10_000;
/// Values any message may hold whatever its size: every legitimate request stays below.
pub const MAX_VALUES_FREE: usize = 10_000;
/// Beyond [`MAX_VALUES_FREE`], one value allowed per this many bytes.
pub const BYTES_PER_VALUE: usize = 32;
/// What one parsed value costs at the peak of a request, in bytes: rmcp's message types, the
/// arguments and the copies the checks make. Measured with the densest shape the bounds accept
/// (the `memory` test prints it: about 280 bytes a value), with room for the allocator.
pub const VALUE_COST: usize = 320;
/// What each byte of a message costs besides its values: the body, rmcp's copy and the
/// arguments' (a 3 MB string measured 2.7 times its size).
pub const BYTE_COST: usize = 4;
/// The most a message may cost, as a multiple of its size (plus [`MAX_VALUES_FREE`] values):
/// [`BYTE_COST`] and a value of [`VALUE_COST`] per [`BYTES_PER_VALUE`] bytes.
pub const COST_FACTOR: usize = BYTE_COST + VALUE_COST / BYTES_PER_VALUE;

/// What the scan counted in a message within the bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// Its size.
    pub bytes: usize,
    /// The values a parse builds (objects, arrays, keys and scalars).
    pub values: usize,
}

impl Scan {
    /// What the message may cost to parse and serve, in bytes: the figure a memory budget
    /// reserves for it; at most [`COST_FACTOR`] times its size plus [`MAX_VALUES_FREE`] values.
    pub fn cost(&self) -> usize {
        self.bytes
            .saturating_mul(BYTE_COST)
            .saturating_add(self.values.saturating_mul(VALUE_COST))
    }

    /// The most a message of `bytes` bytes within the bounds may cost.
    pub fn worst(bytes: usize) -> Self {
        Self {
            bytes,
            values: MAX_VALUES_FREE.saturating_add(bytes / BYTES_PER_VALUE),
        }
    }
}

/// A message past a bound: why (for the sender), and its `id` when the scan found one.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// Which bound, in a sentence.
    pub why: String,
    /// The request's id, to answer it.
    pub id: Option<RequestId>,
}

/// Where the scan is inside the current container.
#[derive(Clone, Copy)]
struct Open {
    object: bool,
    entries: usize,
}

/// Scans `bytes` (one JSON-RPC message) against the bounds. `Ok` when a parse may go ahead,
/// with what it may cost.
pub fn check(bytes: &[u8]) -> Result<Scan, Refusal> {
    let mut stack: Vec<Open> = Vec::with_capacity(16);
    let mut values: usize = 1;
    let allowed = MAX_VALUES_FREE.saturating_add(bytes.len() / BYTES_PER_VALUE);
    // The top-level `id`: set when the last depth-1 key was "id", then the value's start.
    let mut key_is_id = false;
    let mut id_start: Option<usize> = None;
    let mut id: Option<RequestId> = None;
    // In an object, whether the next string is a key.
    let mut expect_key = false;
    let mut i = 0;
    let refuse = |why: String, id: Option<RequestId>| Err(Refusal { why, id });
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                let start = i + 1;
                i = string_end(bytes, start);
                if stack.len() == 1 && expect_key && stack[0].object {
                    key_is_id = &bytes[start..i.min(bytes.len())] == b"id";
                }
            }
            b'{' | b'[' => {
                values += 1;
                if stack.len() >= MAX_DEPTH {
                    return refuse(
                        format!("the message nests deeper than {MAX_DEPTH} levels"),
                        id,
                    );
                }
                stack.push(Open {
                    object: b == b'{',
                    entries: 0,
                });
                expect_key = b == b'{';
            }
            b'}' | b']' => {
                if stack.len() == 1 {
                    id = id.or_else(|| take_id(bytes, &mut id_start, i));
                }
                stack.pop();
                expect_key = false;
            }
            b':' => {
                values += 1;
                expect_key = false;
                if stack.len() == 1 && key_is_id {
                    id_start = Some(i + 1);
                    key_is_id = false;
                }
            }
            b',' => {
                values += 1;
                if stack.len() == 1 {
                    id = id.or_else(|| take_id(bytes, &mut id_start, i));
                }
                if let Some(top) = stack.last_mut() {
                    top.entries += 1;
                    expect_key = top.object;
                    if top.entries >= MAX_ENTRIES {
                        let what = if top.object {
                            "members of one object"
                        } else {
                            "items of one array"
                        };
                        return refuse(
                            format!("the message has more than {MAX_ENTRIES} {what}"),
                            id,
                        );
                    }
                }
            }
            _ => {}
        }
        if values > allowed {
            return refuse(
                format!(
                    "the message holds more than {allowed} JSON values in {} bytes (at most {MAX_VALUES_FREE} and one per {BYTES_PER_VALUE} bytes beyond)",
                    bytes.len()
                ),
                id,
            );
        }
        i += 1;
    }
    Ok(Scan {
        bytes: bytes.len(),
        values,
    })
}

/// The index of the closing quote of a string whose content starts at `from` (or the end).
fn string_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => return i,
            // An escape: the escaped byte is not the end.
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The top-level `id` whose value started at `start` and ends before `end`, when it is a
/// number or a short string.
fn take_id(bytes: &[u8], start: &mut Option<usize>, end: usize) -> Option<RequestId> {
    let s = start.take()?;
    let raw = bytes.get(s..end)?;
    (raw.len() <= 256)
        .then(|| serde_json::from_slice::<RequestId>(raw).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(m: &[u8]) -> Refusal {
        match check(m) {
            Err(r) => r,
            Ok(s) => panic!("accepted: {s:?}"),
        }
    }

    fn keys(n: usize) -> String {
        let members: Vec<String> = (0..n).map(|i| format!("\"k{i}\":1")).collect();
        format!("{{{}}}", members.join(","))
    }

    fn request(args: &str) -> String {
        format!(
            r#"{{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{{"name":"get_domain","arguments":{args}}}}}"#
        )
    }

    #[test]
    fn ordinary_messages_pass() {
        let small = request(r#"{"domain_id":7}"#);
        // The envelope (an object, `jsonrpc`, `id`, `method`, `params` and its two members)
        // and the argument: 15 values.
        assert_eq!(
            check(small.as_bytes()),
            Ok(Scan {
                bytes: small.len(),
                values: 15
            })
        );
        assert!(check(request(&keys(2_000)).as_bytes()).is_ok());
        let long = format!(r#"{{"data":"{}"}}"#, "x\\\"{[,:".repeat(500_000));
        let scan = check(request(&long).as_bytes()).unwrap_or(Scan::worst(0));
        assert!(scan.values < 20, "{scan:?}");
        assert!(check(b"not json at all").is_ok());
    }

    #[test]
    fn each_bound_is_named_and_the_id_kept() {
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let r = refused(request(&deep).as_bytes());
        assert!(r.why.contains("deeper than 64"), "{}", r.why);
        assert_eq!(r.id, Some(RequestId::Number(42)));
        // Members and items large enough that the count of values is not what stops them.
        let members: Vec<String> = (0..20_000)
            .map(|i| format!("\"k{i:010}\":\"{i:049}\""))
            .collect();
        let r = refused(request(&format!("{{{}}}", members.join(","))).as_bytes());
        assert!(r.why.contains("members of one object"), "{}", r.why);
        let items = format!(
            "[{}]",
            vec![format!("\"{}\"", "x".repeat(40)); 20_000].join(",")
        );
        let r = refused(request(&items).as_bytes());
        assert!(r.why.contains("items of one array"), "{}", r.why);
        // Many small containers, each within its bound: the total is bounded by the size.
        let small = format!("[{}]", vec![r#"{"a":[1,2,3,4]}"#; 5_000].join(","));
        let r = refused(request(&small).as_bytes());
        assert!(r.why.contains("JSON values"), "{}", r.why);
    }

    #[test]
    fn the_id_is_found_wherever_it_stands() {
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let m = format!(r#"{{"params":{deep},"id":"abc","jsonrpc":"2.0"}}"#);
        // The scan stops at the bound, before `id`: none to answer.
        assert_eq!(refused(m.as_bytes()).id, None);
        let m = format!(r#"{{"jsonrpc":"2.0","id" : "a\"b" ,"params":{deep}}}"#);
        assert_eq!(
            refused(m.as_bytes()).id,
            Some(RequestId::String("a\"b".into()))
        );
        // A nested `id` is not the request's.
        let m = format!(r#"{{"params":{{"id":5}},"x":{deep}}}"#);
        assert_eq!(refused(m.as_bytes()).id, None);
    }
}
