//! A large answer's JSON parsed without a second copy of its longest text. A file the API sends
//! as base64 inside JSON is most of its answer; parsed the ordinary way, its text is copied out
//! of the body while the body is still held (an 8 MB file: 11 MB twice). Here the text moves to
//! the front of the body's own buffer, which becomes the string.

use std::cell::RefCell;

use bytes::Bytes;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Bodies from this size on are parsed here; smaller ones the ordinary way.
const LARGE_BODY: usize = 1024 * 1024;
/// The shortest text worth moving.
const LARGE_TEXT: usize = 64 * 1024;

/// `body` as JSON, exactly as `serde_json::from_slice` reads it; `Err` gives the body back
/// with the error (for its snippet).
pub(crate) fn parse(body: Bytes) -> Result<Value, (serde_json::Error, Bytes)> {
    if body.len() < LARGE_BODY {
        return serde_json::from_slice(&body).map_err(|e| (e, body));
    }
    let buf = match body.try_into_mut() {
        Ok(unique) => Vec::from(unique),
        Err(shared) => return serde_json::from_slice(&shared).map_err(|e| (e, shared)),
    };
    let found = RefCell::new(Found::default());
    let read = {
        let mut de = serde_json::Deserializer::from_slice(&buf);
        let node = Node {
            found: &found,
            base: buf.as_ptr() as usize,
        };
        node.deserialize(&mut de).and_then(|v| de.end().map(|()| v))
    };
    let mut value = match read {
        Ok(value) => value,
        Err(e) => return Err((e, Bytes::from(buf))),
    };
    let found = found.into_inner();
    let Some((start, len)) = found.span else {
        return Ok(value);
    };
    let mut slot = &mut value;
    for step in &found.path {
        let next = match step {
            Some(Step::Key(k)) => slot.get_mut(k.as_str()),
            Some(Step::Index(i)) => slot.get_mut(*i),
            None => None,
        };
        let Some(next) = next else {
            return Err((
                de::Error::custom("a text's place was lost"),
                Bytes::from(buf),
            ));
        };
        slot = next;
    }
    let mut buf = buf;
    buf.copy_within(start..start + len, 0);
    buf.truncate(len);
    match String::from_utf8(buf) {
        Ok(text) => *slot = Value::String(text),
        // Not reached: the text was a `&str`.
        Err(e) => {
            return Err((
                de::Error::custom("a text moved out of place"),
                Bytes::from(e.into_bytes()),
            ));
        }
    }
    Ok(value)
}

/// The first long text found: where it is in the body, and its place in the value.
#[derive(Default)]
struct Found {
    /// Containers open around what is being read.
    depth: usize,
    /// Offset and length of the text in the body.
    span: Option<(usize, usize)>,
    /// The step from each enclosing container to the text, outermost first; each is filled when
    /// the child holding the text returns to that container.
    path: Vec<Option<Step>>,
}

enum Step {
    Key(String),
    Index(usize),
}

/// A value, read as `serde_json::Value` reads it, the first long text left empty and noted.
#[derive(Clone, Copy)]
struct Node<'a> {
    found: &'a RefCell<Found>,
    base: usize,
}

impl Node<'_> {
    fn enter(self) -> usize {
        let mut f = self.found.borrow_mut();
        f.depth += 1;
        f.depth - 1
    }

    fn leave(self) {
        self.found.borrow_mut().depth -= 1;
    }

    /// A child of the container at `level` returned: if it held the text, `step` leads to it.
    fn returned(self, level: usize, step: impl FnOnce() -> Step) {
        let mut f = self.found.borrow_mut();
        if f.span.is_some()
            && let Some(slot @ None) = f.path.get_mut(level)
        {
            *slot = Some(step());
        }
    }

    /// `key` appears twice in an object at `level`: the later value wins, so a text noted under
    /// the earlier one is no longer in the value.
    fn replaced(self, level: usize, key: &str) {
        let mut f = self.found.borrow_mut();
        if matches!(f.path.get(level), Some(Some(Step::Key(k))) if k == key) {
            f.span = None;
            f.path.clear();
        }
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    // Only a text without escapes is borrowed from the body, byte for byte as it will be.
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Value, E> {
        if v.len() >= LARGE_TEXT {
            let mut f = self.found.borrow_mut();
            if f.span.is_none() {
                f.span = Some((v.as_ptr() as usize - self.base, v.len()));
                f.path = (0..f.depth).map(|_| None).collect();
                return Ok(Value::String(String::new()));
            }
        }
        Ok(Value::String(v.to_owned()))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let level = self.enter();
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            self.returned(level, || Step::Index(out.len()));
            out.push(v);
        }
        self.leave();
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let level = self.enter();
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let v = map.next_value_seed(self)?;
            if out.contains_key(&key) {
                self.replaced(level, &key);
            }
            self.returned(level, || Step::Key(key.clone()));
            out.insert(key, v);
        }
        self.leave();
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn same_as_serde(json: &str) {
        let ours = parse(Bytes::from(json.as_bytes().to_vec()))
            .map_err(|(e, _)| e)
            .unwrap();
        let theirs: Value = serde_json::from_str(json).unwrap();
        assert_eq!(ours, theirs);
        // Key order too (`preserve_order`).
        assert_eq!(ours.to_string(), theirs.to_string());
    }

    #[test]
    fn reads_what_serde_json_reads() {
        let big = "QUJD".repeat(LARGE_BODY / 4 + 10);
        let other = "x".repeat(LARGE_TEXT + 1);
        for json in [
            format!(
                r#"{{"data": {{"filename": "a.pdf", "content_base64": "{big}", "size": 1.5}}}}"#
            ),
            format!(r#"{{"z": [1, -2, {{"a": null}}], "data": ["{other}", "{big}", true]}}"#),
            format!(r#"["{big}"]"#),
            format!(r#""{big}""#),
            // Escapes: copied as usual, the next long text is moved.
            format!(r#"{{"a": "{}\n", "b": "{big}"}}"#, "y".repeat(LARGE_TEXT)),
            // A key given twice: the later value wins, as in serde_json.
            format!(r#"{{"k": "{big}", "k": "short"}}"#),
            format!(r#"{{"k": "{big}", "k": ["{big}"]}}"#),
            format!(r#"{{"k": {{"k": "{big}"}}, "j": 0, "k": {{"k": ""}}}}"#),
        ] {
            same_as_serde(&json);
        }
        assert!(parse(Bytes::from(format!(r#"{{"a": "{big}"}} x"#))).is_err());
    }

    #[test]
    fn the_text_is_the_body_buffer() {
        let json = format!(
            r#"{{"data": {{"content_base64": "{}"}}}}"#,
            "QUJD".repeat(LARGE_BODY)
        );
        let body = Bytes::from(json.into_bytes());
        let at = body.as_ptr();
        let value = parse(body).map_err(|(e, _)| e).unwrap();
        assert_eq!(
            value["data"]["content_base64"].as_str().unwrap().as_ptr(),
            at
        );
    }
}
