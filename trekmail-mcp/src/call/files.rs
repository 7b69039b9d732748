//! Files as files: an answer that carries a file (an attachment, a ZIP, a raw message, a contacts
//! export) reaches the agent once, as what it is, with its metadata in `structuredContent`.
//!
//! Which answer field holds the bytes, the name and the type is data (`file` in
//! `tools-map.toml`), found with or without the API's `data` envelope. Images become image
//! content; text formats become text when their charset decodes them faithfully, a blob
//! otherwise; anything else an embedded resource. Above the inline budget the result carries the
//! metadata and a `resource_link` to a `trekmail://` URI naming the API resource; resources/read
//! serves it from the bytes the call downloaded (`shelf`), or fetches it again. The bytes are
//! held once all along (`in_place`).

use base64::Engine as _;
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use rmcp::model::{CallToolResult, ContentBlock, Resource, ResourceContents};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::call::in_place;
use crate::call::outside::{self, Marker};
use crate::catalog::map::FileSpec;
use crate::catalog::schema::{Shape, Target};

/// The scheme of the URIs that name files of the API.
pub const SCHEME: &str = "trekmail://";

/// A file found in an answer.
#[derive(Debug)]
pub struct File {
    /// The bytes: the one copy of them this server holds (see `in_place`), in the buffer their
    /// base64 text came in, which is also the one it goes out in: its capacity is kept, and a
    /// reallocation that may copy is never needed.
    pub bytes: Vec<u8>,
    /// Its name.
    pub name: String,
    /// Its MIME type, parameters (charset) included.
    pub media_type: String,
    /// The answer's other fields (the envelope's content, bytes, name and type fields left out).
    pub rest: Map<String, Value>,
    /// The bytes' SHA-256 in hex, computed once.
    sha256: String,
}

/// How the file is put into the result.
enum Form {
    Image,
    Text(String),
    Blob,
}

impl File {
    /// A file of these bytes.
    pub fn new(bytes: Vec<u8>, name: String, media_type: String, rest: Map<String, Value>) -> Self {
        let sha256 = hex(&Sha256::digest(&bytes));
        Self {
            bytes,
            name,
            media_type,
            rest,
            sha256,
        }
    }

    /// Finds the file of `spec` in an answer, inside `data` or at the top level, with every
    /// secret `client` knows replaced by `[redacted]` in its decoded bytes (a token inside a
    /// file is invisible to the scrub of the raw, base64 answer). The answer is taken, not
    /// copied: its base64 text becomes the bytes in place. `Err` gives the answer back when it
    /// does not have the file (the caller passes it through as JSON).
    pub fn from_answer(
        mut value: Value,
        spec: &FileSpec,
        client: &trekmail_api::Client,
    ) -> Result<Self, Value> {
        use trekmail_api::ClientInfo as _;
        let Some(fields) = fields_mut(&mut value, &spec.content) else {
            return Err(value);
        };
        let Some(Value::String(encoded)) = fields.get_mut(&spec.content) else {
            return Err(value);
        };
        let bytes = match in_place::decode(std::mem::take(encoded)) {
            Ok(bytes) => bytes,
            Err(text) => {
                *encoded = text;
                return Err(value);
            }
        };
        let mut rest = std::mem::take(fields);
        let mut text_field = |f: &Option<String>| {
            f.as_ref()
                .and_then(|f| rest.shift_remove(f))
                .and_then(|v| match v {
                    Value::String(s) if !s.trim().is_empty() => Some(s),
                    _ => None,
                })
        };
        let name = text_field(&spec.name);
        let media_type = text_field(&spec.media_type);
        rest.shift_remove(&spec.content);
        let name = name
            .or_else(|| spec.default_name.clone())
            .unwrap_or_else(|| "file".into());
        let media_type = media_type
            .or_else(|| by_extension(&name).map(str::to_owned))
            .or_else(|| spec.default_media_type.clone())
            .unwrap_or_else(|| "application/octet-stream".into());
        let bytes = client.inner().redact(bytes);
        Ok(Self::new(bytes, name, media_type, rest))
    }

    /// The metadata the agent gets as `structuredContent`: name, type, size, sha256, the URI it
    /// can be read again from, and the answer's other fields. Never the bytes.
    pub fn metadata(&self, uri: &str) -> Value {
        let mut m = self.rest.clone();
        m.insert("name".into(), self.name.clone().into());
        m.insert("media_type".into(), self.media_type.clone().into());
        m.insert("size".into(), (self.bytes.len() as u64).into());
        m.insert("sha256".into(), self.sha256.clone().into());
        m.insert("uri".into(), uri.into());
        Value::Object(m)
    }

    fn shape(&self) -> Form {
        let essence = essence(&self.media_type);
        if essence.starts_with("image/") {
            Form::Image
        } else if is_text(&essence) {
            match decode_text(&self.bytes, charset(&self.media_type).as_deref()) {
                Some(t) => Form::Text(t),
                None => Form::Blob,
            }
        } else {
            Form::Blob
        }
    }

    /// The tool result: the file inline up to `max_inline` bytes, a link above it. The file
    /// comes back with it, its bytes never copied, for the read of a link (see `shelf`).
    /// A file from outside the account (`outside`: an attachment, a raw message) has its name
    /// and, inline as text, its content enclosed by the result's markers (see `outside`).
    pub fn result(
        mut self,
        uri: &str,
        max_inline: u64,
        outside: Option<&Marker>,
    ) -> (CallToolResult, Self) {
        let Some(marker) = outside else {
            let r = self.result_plain(uri, max_inline, None);
            return (r, self);
        };
        let mut escaped = Self {
            bytes: std::mem::take(&mut self.bytes),
            name: outside::escape(&self.name).into_owned(),
            media_type: self.media_type.clone(),
            rest: match outside::escape_all(&Value::Object(self.rest.clone())) {
                Value::Object(rest) => rest,
                _ => self.rest.clone(),
            },
            sha256: self.sha256.clone(),
        };
        let mut r = escaped.result_plain(uri, max_inline, Some(marker));
        r.content.push(ContentBlock::text(marker.notice()));
        self.bytes = std::mem::take(&mut escaped.bytes);
        (r, self)
    }

    /// Whether the result links to the file instead of carrying it.
    pub fn is_linked(&self, max_inline: u64) -> bool {
        self.bytes.len() as u64 > max_inline
    }

    fn result_plain(&self, uri: &str, max_inline: u64, outside: Option<&Marker>) -> CallToolResult {
        let size = self.bytes.len() as u64;
        let shown_name = match outside {
            Some(m) => m.enclose(&self.name),
            None => self.name.clone(),
        };
        let line = format!(
            "{} ({}, {size} bytes, sha256 {})",
            shown_name, self.media_type, self.sha256
        );
        let content = if self.is_linked(max_inline) {
            let link = Resource::new(uri, self.name.clone())
                .with_mime_type(essence(&self.media_type))
                .with_size(size);
            vec![
                ContentBlock::text(format!(
                    "{line}: larger than the inline limit of {max_inline} bytes (TREKMAIL_MAX_INLINE_BYTES); read it whole with resources/read at {uri}"
                )),
                ContentBlock::resource_link(link),
            ]
        } else {
            let body = match self.shape() {
                Form::Image => ContentBlock::image(
                    base64::engine::general_purpose::STANDARD.encode(&self.bytes),
                    essence(&self.media_type),
                ),
                Form::Text(t) => ContentBlock::text(match outside {
                    Some(m) => m.enclose(&t),
                    None => t,
                }),
                Form::Blob => ContentBlock::resource(ResourceContents::BlobResourceContents {
                    uri: uri.into(),
                    mime_type: Some(self.media_type.clone()),
                    blob: base64::engine::general_purpose::STANDARD.encode(&self.bytes),
                    meta: None,
                }),
            };
            vec![ContentBlock::text(line), body]
        };
        let mut r = CallToolResult::structured(self.metadata(uri));
        r.content = content;
        r
    }

    /// The file as resources/read contents, its bytes taken and not copied: text when
    /// faithful, a blob otherwise, encoded in the bytes' own buffer (`in_place`).
    pub fn into_contents(self, uri: &str) -> ResourceContents {
        let essence = essence(&self.media_type);
        let bytes = if is_text(&essence) {
            match into_text(self.bytes, charset(&self.media_type).as_deref()) {
                Ok(text) => {
                    return ResourceContents::TextResourceContents {
                        uri: uri.into(),
                        mime_type: Some(self.media_type),
                        text,
                        meta: None,
                    };
                }
                Err(bytes) => bytes,
            }
        } else {
            self.bytes
        };
        ResourceContents::BlobResourceContents {
            uri: uri.into(),
            mime_type: Some(self.media_type),
            blob: in_place::encode(bytes),
            meta: None,
        }
    }
}

/// The fields that hold a file whose content is in `content`: the `data` envelope's when it
/// has that field, the answer's own otherwise.
fn fields_mut<'a>(value: &'a mut Value, content: &str) -> Option<&'a mut Map<String, Value>> {
    let in_data = value
        .get("data")
        .and_then(Value::as_object)
        .is_some_and(|d| d.contains_key(content));
    if in_data {
        value.get_mut("data").and_then(Value::as_object_mut)
    } else {
        value.as_object_mut()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `text/csv; charset=utf-8` → `text/csv`.
fn essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn charset(media_type: &str) -> Option<String> {
    media_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
    })
}

/// Formats a model reads as text: `text/*`, mail sources, JSON and XML.
fn is_text(essence: &str) -> bool {
    essence.starts_with("text/")
        || essence.starts_with("message/")
        || matches!(essence, "application/json" | "application/xml")
}

/// Decodes text only when every byte maps faithfully: UTF-8 (the default, and for mail whose
/// parts declare their own charsets, only when the whole source is valid UTF-8), US-ASCII and
/// ISO-8859-1. Anything else is `None` and travels as a blob: never a U+FFFD.
fn decode_text(bytes: &[u8], charset: Option<&str>) -> Option<String> {
    into_text(bytes.to_vec(), charset).ok()
}

/// The same, taking the bytes: UTF-8 and US-ASCII become the text in their own buffer; `Err`
/// gives them back.
fn into_text(bytes: Vec<u8>, charset: Option<&str>) -> Result<String, Vec<u8>> {
    let utf8 = |bytes| String::from_utf8(bytes).map_err(std::string::FromUtf8Error::into_bytes);
    match charset.unwrap_or("utf-8") {
        "utf-8" | "utf8" => utf8(bytes),
        "us-ascii" | "ascii" if bytes.is_ascii() => utf8(bytes),
        // A char of up to two UTF-8 bytes each: the one form that needs a new buffer.
        "iso-8859-1" | "latin1" | "latin-1" => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
        _ => Err(bytes),
    }
}

/// A MIME type from a file name's extension, for answers that do not state one.
fn by_extension(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "csv" => "text/csv",
        "vcf" | "vcard" => "text/vcard",
        "ics" => "text/calendar",
        "txt" => "text/plain",
        "eml" => "message/rfc822",
        "json" => "application/json",
        "zip" => "application/zip",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        _ => return None,
    })
}

/// Characters escaped in a URI path segment or query value.
const COMPONENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'/')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'`')
    .add(b'{')
    .add(b'}');

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The `trekmail://` URI of a call: the operation's path with its values, then its query
/// arguments in schema order, e.g. `trekmail://messages/5/attachments/0?folder=Archive%2F2024`.
pub fn uri(path: &str, shape: &Shape, args: &Map<String, Value>) -> String {
    let mut out = String::from(SCHEME);
    for (i, seg) in path.trim_start_matches('/').split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => {
                let v = args.get(name).and_then(scalar).unwrap_or_default();
                out.push_str(&utf8_percent_encode(&v, COMPONENT).to_string());
            }
            None => out.push_str(seg),
        }
    }
    let query: Vec<String> = shape
        .args
        .iter()
        .filter_map(|a| match &a.target {
            Target::Query(q) => {
                let v = args.get(&a.name).and_then(scalar)?;
                Some(format!("{q}={}", utf8_percent_encode(&v, COMPONENT)))
            }
            _ => None,
        })
        .collect();
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query.join("&"));
    }
    out
}

/// The tool arguments a `trekmail://` URI names for a tool with this path template and shape,
/// or `None` when the URI is not one of this tool's. Values are typed by the argument schemas.
pub fn args_of(uri: &str, path: &str, shape: &Shape) -> Option<Map<String, Value>> {
    let rest = uri.strip_prefix(SCHEME)?;
    let (p, q) = rest.split_once('?').unwrap_or((rest, ""));
    let template: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let segments: Vec<&str> = p.split('/').collect();
    if template.len() != segments.len() {
        return None;
    }
    let typed = |name: &str, raw: String| -> Option<Value> {
        let schema = &shape.args.iter().find(|a| a.name == name)?.schema;
        let ty = match &schema["type"] {
            Value::Array(t) => t.first().and_then(Value::as_str).unwrap_or("string"),
            t => t.as_str().unwrap_or("string"),
        };
        Some(match ty {
            "integer" => raw.parse::<i64>().ok()?.into(),
            "boolean" => raw.parse::<bool>().ok()?.into(),
            _ => raw.into(),
        })
    };
    let mut args = Map::new();
    for (t, s) in template.iter().zip(&segments) {
        match t.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
            Some(name) => {
                let raw = percent_decode_str(s).decode_utf8().ok()?.into_owned();
                args.insert(name.to_owned(), typed(name, raw)?);
            }
            None if t == s => {}
            None => return None,
        }
    }
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=')?;
        let k = percent_decode_str(k).decode_utf8().ok()?.into_owned();
        let is_query = shape
            .args
            .iter()
            .any(|a| a.name == k && matches!(a.target, Target::Query(_)));
        if !is_query {
            return None;
        }
        let raw = percent_decode_str(v).decode_utf8().ok()?.into_owned();
        args.insert(k.clone(), typed(&k, raw)?);
    }
    Some(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_decodes_only_when_faithful() {
        assert_eq!(
            decode_text("café".as_bytes(), None).as_deref(),
            Some("café")
        );
        // 8-bit mail in ISO-8859-1: not UTF-8, so no U+FFFD: None (a blob).
        assert_eq!(decode_text(b"caf\xe9", None), None);
        assert_eq!(
            decode_text(b"caf\xe9", Some("iso-8859-1")).as_deref(),
            Some("café")
        );
        assert_eq!(decode_text(b"caf\xe9", Some("us-ascii")), None);
        assert_eq!(decode_text(b"abc", Some("koi8-r")), None);
    }

    #[test]
    fn media_type_parameters() {
        assert_eq!(essence("Text/CSV; charset=UTF-8"), "text/csv");
        assert_eq!(
            charset("text/csv; charset=\"ISO-8859-1\"").as_deref(),
            Some("iso-8859-1")
        );
        assert_eq!(by_extension("a.VCF"), Some("text/vcard"));
        assert_eq!(by_extension("noext"), None);
    }
}
