//! W3C trace context: the `traceparent` (and `tracestate`) a client puts in a `tools/call`
//! request's `_meta`, checked and passed on to the API request as the headers of the same
//! names, so a tracing system sees the API request inside the client's trace. The server records
//! no spans of its own, so it passes the parent on unchanged, and invents no trace when the
//! client sent none (a trace id nothing records would link nothing; the request id already
//! ties our logs to the API's).

/// A checked trace context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    traceparent: String,
    tracestate: Option<String>,
}

/// The longest `tracestate` passed on (the W3C limit vendors must propagate).
const MAX_TRACESTATE: usize = 512;

impl TraceContext {
    /// The context of a request's `_meta` values: `None` when `traceparent` is absent or
    /// malformed (then nothing is passed on). A malformed `tracestate` is dropped alone.
    pub fn parse(traceparent: Option<&str>, tracestate: Option<&str>) -> Option<Self> {
        let tp = traceparent?;
        if !valid_traceparent(tp) {
            tracing::debug!("a malformed traceparent in _meta was ignored");
            return None;
        }
        let tracestate = tracestate
            .filter(|s| valid_tracestate(s))
            .map(str::to_owned);
        Some(Self {
            traceparent: tp.to_owned(),
            tracestate,
        })
    }

    /// The trace id: 32 lowercase hex digits.
    pub fn trace_id(&self) -> &str {
        &self.traceparent[3..35]
    }

    /// The headers for the API request: `traceparent`, and `tracestate` when there is one.
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, &str)> {
        std::iter::once(("traceparent", self.traceparent.as_str()))
            .chain(self.tracestate.as_deref().map(|s| ("tracestate", s)))
    }
}

/// Version 00 exactly: `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`, lowercase,
/// neither id all zeros. Later versions are not passed on: their format is not known.
fn valid_traceparent(s: &str) -> bool {
    let b = s.as_bytes();
    let hex = |r: &[u8]| r.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
    let nonzero = |r: &[u8]| r.iter().any(|c| *c != b'0');
    b.len() == 55
        && &b[..3] == b"00-"
        && b[35] == b'-'
        && b[52] == b'-'
        && hex(&b[3..35])
        && hex(&b[36..52])
        && hex(&b[53..55])
        && nonzero(&b[3..35])
        && nonzero(&b[36..52])
}

/// Printable ASCII (a header value that cannot split a header), at most 512 characters, and
/// list members of the `key=value` form.
fn valid_tracestate(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_TRACESTATE
        && s.bytes().all(|c| (0x20..0x7f).contains(&c))
        && s.split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .all(|m| {
                m.split_once('=')
                    .is_some_and(|(k, v)| !k.is_empty() && !v.is_empty())
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TP: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn a_valid_traceparent_is_kept_with_its_state() {
        let t = TraceContext::parse(Some(TP), Some("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"))
            .expect("valid");
        assert_eq!(t.trace_id(), "0af7651916cd43dd8448eb211c80319c");
        let h: Vec<_> = t.headers().collect();
        assert_eq!(
            h,
            [
                ("traceparent", TP),
                ("tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
            ]
        );
        // A bad state is dropped alone.
        let t = TraceContext::parse(Some(TP), Some("a=b\r\nx-evil: 1")).expect("valid");
        assert_eq!(t.headers().count(), 1);
        assert_eq!(TraceContext::parse(None, Some("a=b")), None);
    }

    #[test]
    fn malformed_traceparents_are_ignored() {
        for bad in [
            "",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
            "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c8031\u{e9}-b7ad6b7169203331-0",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0g",
        ] {
            assert_eq!(TraceContext::parse(Some(bad), None), None, "{bad:?}");
        }
    }
}
