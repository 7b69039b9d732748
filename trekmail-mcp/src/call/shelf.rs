//! Files kept for the `resources/read` that follows their call: a file above the inline limit
//! crosses the network once. The call downloads it anyway (the API sends name, type and bytes in
//! one answer), so its bytes wait here, moved and not copied, until the caller reads its link.
//!
//! Bounded ([`MAX_BYTES`] in all), short-lived ([`TTL`]), read once, and keyed by an HMAC of the
//! caller's tokens with the URI: a file is never served to other tokens than those that
//! downloaded it. Anything not found here (expired, evicted, another process) is downloaded again.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::call::files::File;

/// How long a file waits for its `resources/read`: a client reads the link right after the call.
pub const TTL: Duration = Duration::from_secs(120);
/// Bytes kept at once, all callers together; past it the oldest files go first, and a file
/// larger than this is not kept at all.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

struct Kept {
    caller: [u8; 32],
    uri: String,
    expires: Instant,
    file: File,
}

/// The files waiting for their read, oldest first.
pub struct Shelf {
    key: [u8; 32],
    ttl: Duration,
    max_bytes: usize,
    kept: Mutex<VecDeque<Kept>>,
}

impl Default for Shelf {
    fn default() -> Self {
        Self::new(TTL, MAX_BYTES)
    }
}

impl Shelf {
    /// An empty shelf with a fresh random key.
    pub fn new(ttl: Duration, max_bytes: usize) -> Self {
        Self {
            key: crate::call::tokens::random_key(),
            ttl,
            max_bytes,
            kept: Mutex::default(),
        }
    }

    /// The key of a caller: an HMAC of its tokens.
    pub fn caller(&self, ops: Option<&str>, message: Option<&str>) -> [u8; 32] {
        crate::call::tokens::caller_hmac(&self.key, ops, message)
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, VecDeque<Kept>> {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps `file` for `caller`'s read of `uri`, replacing what it had there.
    pub fn put(&self, caller: [u8; 32], uri: &str, file: File, now: Instant) {
        // What the file holds, the room for its base64 form included.
        if file.bytes.capacity() > self.max_bytes {
            return;
        }
        let mut kept = self.kept();
        kept.retain(|k| k.expires > now && !(k.caller == caller && k.uri == uri));
        let mut total: usize = kept.iter().map(|k| k.file.bytes.capacity()).sum();
        while total + file.bytes.capacity() > self.max_bytes {
            let Some(oldest) = kept.pop_front() else {
                break;
            };
            total -= oldest.file.bytes.capacity();
        }
        kept.push_back(Kept {
            caller,
            uri: uri.to_owned(),
            expires: now + self.ttl,
            file,
        });
    }

    /// Takes the file `caller` downloaded for `uri`, if it is still here.
    pub fn take(&self, caller: &[u8; 32], uri: &str, now: Instant) -> Option<File> {
        let mut kept = self.kept();
        kept.retain(|k| k.expires > now);
        let i = kept
            .iter()
            .position(|k| &k.caller == caller && k.uri == uri)?;
        kept.remove(i).map(|k| k.file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(n: usize) -> File {
        File::new(
            vec![7; n],
            "f".into(),
            "application/pdf".into(),
            serde_json::Map::new(),
        )
    }

    #[test]
    fn read_once_by_the_same_tokens_only() {
        let s = Shelf::new(Duration::from_secs(60), 100);
        let now = Instant::now();
        let a = s.caller(Some("tm_live_a"), None);
        let b = s.caller(Some("tm_live_b"), None);
        assert_ne!(a, b);
        s.put(a, "trekmail://x", file(10), now);
        assert!(s.take(&b, "trekmail://x", now).is_none());
        assert!(s.take(&a, "trekmail://y", now).is_none());
        assert_eq!(
            s.take(&a, "trekmail://x", now).map(|f| f.bytes.len()),
            Some(10)
        );
        assert!(s.take(&a, "trekmail://x", now).is_none());
    }

    #[test]
    fn bounded_in_bytes_and_in_time() {
        let s = Shelf::new(Duration::from_secs(60), 100);
        let now = Instant::now();
        let a = s.caller(None, Some("tm_msg_a"));
        s.put(a, "u1", file(60), now);
        s.put(a, "u2", file(60), now);
        // The oldest went to make room; a file above the bound is not kept.
        assert!(s.take(&a, "u1", now).is_none());
        s.put(a, "u3", file(101), now);
        assert!(s.take(&a, "u3", now).is_none());
        assert!(s.take(&a, "u2", now + Duration::from_secs(61)).is_none());
    }
}
