//! Base64 decoded and encoded in the buffer that holds it: a file of tens of megabytes is held
//! once, never beside a second copy of itself (issue 23). Decoding shrinks the text into its own
//! buffer; encoding grows the bytes' buffer by a third and fills it from the end.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

/// Base64 characters handled at a time (a multiple of 4), through a buffer on the stack.
const CHARS: usize = 4 * 1024;
/// The bytes they stand for.
const BYTES: usize = CHARS / 4 * 3;

/// Base64 as APIs send it (standard alphabet, padding optional, line breaks allowed) decoded in
/// the text's own buffer. `Err` gives the text back, its whitespace removed, when it is not
/// base64: nothing is decoded before the whole text is known to decode.
pub fn decode(text: String) -> Result<Vec<u8>, String> {
    let mut text = text;
    if text.bytes().any(|b| b.is_ascii_whitespace()) {
        text.retain(|c| !c.is_ascii_whitespace());
    }
    let mut chunk = [0u8; BYTES];
    // A first pass only checks; the second writes each chunk's bytes over the text already read
    // (bytes are never longer than their text, so what is yet to be read is never overwritten).
    let whole = text.len();
    let decodes = |text: &[u8], chunk: &mut [u8; BYTES]| {
        text.chunks(CHARS)
            .enumerate()
            .all(|(i, c)| decode_chunk(c, (i + 1) * CHARS >= whole, chunk).is_some())
    };
    if !decodes(text.as_bytes(), &mut chunk) {
        return Err(text);
    }
    let mut buf = text.into_bytes();
    let (mut read, mut written) = (0, 0);
    while read < whole {
        let end = (read + CHARS).min(whole);
        let Some(got) = decode_chunk(&buf[read..end], end == whole, &mut chunk) else {
            // Checked above: not reached.
            return Err(String::new());
        };
        buf[written..written + got].copy_from_slice(&chunk[..got]);
        written += got;
        read = end;
    }
    buf.truncate(written);
    Ok(buf)
}

/// One chunk: only the last may carry padding, and there padding is optional.
fn decode_chunk(text: &[u8], last: bool, out: &mut [u8; BYTES]) -> Option<usize> {
    if last {
        STANDARD
            .decode_slice(text, out)
            .or_else(|_| STANDARD_NO_PAD.decode_slice(text, out))
            .ok()
    } else {
        STANDARD_NO_PAD.decode_slice(text, out).ok()
    }
}

/// `bytes` as standard padded base64, in their own buffer: it grows by a third (the one
/// allocation) and is filled from its end, each chunk's text written over bytes already read.
pub fn encode(bytes: Vec<u8>) -> String {
    let mut buf = bytes;
    let n = buf.len();
    let Some(len) = base64::encoded_len(n, true) else {
        // Past `usize`: no such buffer exists.
        return String::new();
    };
    buf.resize(len, 0);
    let mut text = [0u8; CHARS];
    let mut start = n.div_ceil(BYTES).saturating_sub(1) * BYTES;
    loop {
        let end = (start + BYTES).min(n);
        let got = STANDARD
            .encode_slice(&buf[start..end], &mut text)
            .unwrap_or(0);
        let at = start / 3 * 4;
        buf[at..at + got].copy_from_slice(&text[..got]);
        if start == 0 {
            break;
        }
        start -= BYTES;
    }
    // Base64 is ASCII: the check cannot fail.
    String::from_utf8(buf).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn encode_and_decode_agree_with_the_crate_at_every_chunk_boundary() {
        for n in [
            0,
            1,
            2,
            3,
            BYTES - 1,
            BYTES,
            BYTES + 1,
            2 * BYTES,
            3 * BYTES + 2,
            5 * BYTES + 1,
        ] {
            let bytes = sample(n);
            let text = STANDARD.encode(&bytes);
            assert_eq!(encode(bytes.clone()), text, "{n} bytes");
            assert_eq!(decode(text.clone()).as_ref(), Ok(&bytes), "{n} bytes");
            let unpadded = text.trim_end_matches('=').to_owned();
            assert_eq!(decode(unpadded).as_ref(), Ok(&bytes), "{n} bytes");
        }
    }

    #[test]
    fn line_breaks_are_skipped_and_what_does_not_decode_is_given_back() {
        let bytes = sample(10_000);
        let folded: String = STANDARD
            .encode(&bytes)
            .as_bytes()
            .chunks(76)
            .map(|l| format!("{}\r\n", String::from_utf8_lossy(l)))
            .collect();
        assert_eq!(decode(folded).as_ref(), Ok(&bytes));
        assert_eq!(decode("not base64!".into()), Err("notbase64!".into()));
        // Padding is only allowed at the very end, whatever chunk it falls in.
        let mut padded_inside = STANDARD.encode(sample(3 * BYTES));
        padded_inside.replace_range(CHARS - 2..CHARS, "==");
        assert!(decode(padded_inside).is_err());
        assert!(decode(format!("{}=", STANDARD.encode(sample(4)))).is_err());
    }

    #[test]
    fn no_second_buffer() {
        // The text's buffer becomes the bytes' and the bytes' the text's.
        let text = STANDARD.encode(sample(3 * BYTES + 5));
        let at = text.as_ptr();
        let bytes = decode(text).unwrap_or_default();
        assert_eq!(bytes.as_ptr(), at);
        let mut bytes = bytes;
        bytes.reserve_exact(bytes.len() / 3 + 4);
        let at = bytes.as_ptr();
        let text = encode(bytes);
        assert_eq!(text.as_ptr(), at);
    }
}
