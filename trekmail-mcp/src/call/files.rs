//! Files as files: an answer that carries a file (an attachment, a ZIP, a raw message, a contacts
//! export) reaches the agent once, as what it is, with its metadata in `structuredContent`.
//!
//! Which answer field holds the bytes, the name and the type is data (`file` in
//! `tools-map.toml`), found with or without the API's `data` envelope. Images become image
//! content; text formats become text when their charset decodes them faithfully, a blob
//! otherwise; anything else an embedded resource. Above the inline budget the result carries the
//! metadata and a `resource_link` to a `trekmail://` URI naming the API resource, which
//! resources/read fetches again when asked (no state is kept between calls).

use base64::Engine as _;
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use rmcp::model::{CallToolResult, ContentBlock, Resource, ResourceContents};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::call::outside::{self, Marker};
use crate::catalog::map::FileSpec;
use crate::catalog::schema::{Shape, Target};

/// The scheme of the URIs that name files of the API.
pub const SCHEME: &str = "trekmail://";

/// A file found in an answer.
#[derive(Debug, Clone)]
pub struct File {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Its name.
    pub name: String,
    /// Its MIME type, parameters (charset) included.
    pub media_type: String,
    /// The answer's other fields (the envelope's content, bytes, name and type fields left out).
    pub rest: Map<String, Value>,
}

/// How the file is put into the result.
enum Form {
    Image,
    Text(String),
    Blob,
}

impl File {
    /// Finds the file of `spec` in an answer, inside `data` or at the top level. `None` when the
    /// answer does not have it (the caller passes the answer through as JSON).
    pub fn from_answer(value: &Value, spec: &FileSpec) -> Option<Self> {
        let fields = value
            .get("data")
            .and_then(Value::as_object)
            .filter(|d| d.contains_key(&spec.content))
            .or_else(|| value.as_object())?;
        let encoded = fields.get(&spec.content)?.as_str()?;
        let bytes = decode_base64(encoded)?;
        let text_field = |f: &Option<String>| {
            f.as_ref()
                .and_then(|f| fields.get(f))
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .map(str::to_owned)
        };
        let name = text_field(&spec.name)
            .or_else(|| spec.default_name.clone())
            .unwrap_or_else(|| "file".into());
        let media_type = text_field(&spec.media_type)
            .or_else(|| by_extension(&name).map(str::to_owned))
            .or_else(|| spec.default_media_type.clone())
            .unwrap_or_else(|| "application/octet-stream".into());
        let mut rest = fields.clone();
        for f in [
            Some(&spec.content),
            spec.name.as_ref(),
            spec.media_type.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            rest.remove(f);
        }
        Some(Self {
            bytes,
            name,
            media_type,
            rest,
        })
    }

    /// The file with every configured secret in its decoded bytes replaced by `[redacted]`: a
    /// token inside a file is invisible to the scrub of the raw (base64) answer.
    #[must_use]
    pub fn redacted(mut self, client: &trekmail_api::Client) -> Self {
        use trekmail_api::ClientInfo as _;
        self.bytes = client.inner().redact(std::mem::take(&mut self.bytes));
        self
    }

    /// The metadata the agent gets as `structuredContent`: name, type, size, sha256, the URI it
    /// can be read again from, and the answer's other fields. Never the bytes.
    pub fn metadata(&self, uri: &str) -> Value {
        let mut m = self.rest.clone();
        m.insert("name".into(), self.name.clone().into());
        m.insert("media_type".into(), self.media_type.clone().into());
        m.insert("size".into(), (self.bytes.len() as u64).into());
        m.insert("sha256".into(), hex(&Sha256::digest(&self.bytes)).into());
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

    /// The tool result: the file inline up to `max_inline` bytes, a link above it.
    /// A file from outside the account (`outside`: an attachment, a raw message) has its name
    /// and, inline as text, its content enclosed by the result's markers (see `outside`).
    pub fn result(&self, uri: &str, max_inline: u64, outside: Option<&Marker>) -> CallToolResult {
        let Some(marker) = outside else {
            return self.result_plain(uri, max_inline, None);
        };
        let mut escaped = self.clone();
        escaped.name = outside::escape(&self.name).into_owned();
        if let Value::Object(rest) = outside::escape_all(&Value::Object(self.rest.clone())) {
            escaped.rest = rest;
        }
        let mut r = escaped.result_plain(uri, max_inline, Some(marker));
        r.content.push(ContentBlock::text(marker.notice()));
        r
    }

    fn result_plain(&self, uri: &str, max_inline: u64, outside: Option<&Marker>) -> CallToolResult {
        let size = self.bytes.len() as u64;
        let shown_name = match outside {
            Some(m) => m.enclose(&self.name),
            None => self.name.clone(),
        };
        let line = format!(
            "{} ({}, {size} bytes, sha256 {})",
            shown_name,
            self.media_type,
            hex(&Sha256::digest(&self.bytes))
        );
        let content = if size > max_inline {
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
                Form::Image => ContentBlock::image(self.base64(), essence(&self.media_type)),
                Form::Text(t) => ContentBlock::text(match outside {
                    Some(m) => m.enclose(&t),
                    None => t,
                }),
                Form::Blob => ContentBlock::resource(self.blob(uri)),
            };
            vec![ContentBlock::text(line), body]
        };
        let mut r = CallToolResult::structured(self.metadata(uri));
        r.content = content;
        r
    }

    /// The file as resources/read contents: text when faithful, a blob otherwise.
    pub fn contents(&self, uri: &str) -> ResourceContents {
        match self.shape() {
            Form::Text(t) => ResourceContents::TextResourceContents {
                uri: uri.into(),
                mime_type: Some(self.media_type.clone()),
                text: t,
                meta: None,
            },
            _ => self.blob(uri),
        }
    }

    fn blob(&self, uri: &str) -> ResourceContents {
        ResourceContents::BlobResourceContents {
            uri: uri.into(),
            mime_type: Some(self.media_type.clone()),
            blob: self.base64(),
            meta: None,
        }
    }

    fn base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.bytes)
    }
}

/// Base64 as APIs send it: standard alphabet, padding optional, line breaks allowed.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(compact.as_bytes()))
        .ok()
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
    match charset.unwrap_or("utf-8") {
        "utf-8" | "utf8" => String::from_utf8(bytes.to_vec()).ok(),
        "us-ascii" | "ascii" => bytes
            .is_ascii()
            .then(|| String::from_utf8_lossy(bytes).into_owned()),
        "iso-8859-1" | "latin1" | "latin-1" => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        _ => None,
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

    #[test]
    fn base64_with_line_breaks_and_without_padding() {
        assert_eq!(decode_base64("aGVs\nbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(decode_base64("aGVsbG8").as_deref(), Some(&b"hello"[..]));
        assert!(decode_base64("not base64!").is_none());
    }
}
