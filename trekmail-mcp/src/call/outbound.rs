//! `TREKMAIL_SEND_TO`: the only recipients mail may leave the account for. Which arguments name
//! such a recipient is data (`outbound_args`, `outbound_when`, `sieve_args` in `tools-map.toml`);
//! every address found there must match the list, compared case-insensitively after IDNA, and an
//! address written with an escape a mail server could route differently (a trailing dot, a
//! quoted local part, `%` or `!` routing, a source route, an address literal) is refused.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::call::verdict::OutboundRule;
use crate::catalog::ToolDef;
use crate::catalog::map::{GateName, truthy};
use trekmail_api::email;

/// The variable, named in every refusal.
pub const VAR: &str = OutboundRule::SendTo.var();

/// The longest list a tool description shows (characters).
pub const MAX_SHOWN_CHARS: usize = 80;

/// One allowed recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    /// `example.com`: that domain exactly.
    Domain(String),
    /// `*.example.com`: its subdomains.
    Subdomains(String),
    /// `a@example.com`.
    Address(String, String),
}

/// The parsed list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendTo {
    rules: Vec<Rule>,
}

/// A domain as ASCII (IDNA), lowercase; `Err` for anything but a plain DNS name.
fn domain(d: &str) -> Result<String, String> {
    email::domain(d).map_err(|flaw| format!("{d:?} {flaw}"))
}

/// `local@domain` as (lowercase local part, ASCII lowercase domain) by the workspace's one
/// address check; `Err` says which escape.
pub fn address(a: &str) -> Result<(String, String), String> {
    let a = a.trim();
    email::parse(a)
        .map(|e| (e.local, e.domain))
        .map_err(|flaw| format!("{a:?} {flaw}"))
}

impl SendTo {
    /// Parses the comma-separated list; `Err` names the bad entry.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut rules = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let rule = if let Some(d) = item.strip_prefix("*.") {
                Rule::Subdomains(domain(d).map_err(|e| format!("{VAR}: {e}"))?)
            } else if item.contains('@') {
                let (l, d) = address(item).map_err(|e| format!("{VAR}: {e}"))?;
                Rule::Address(l, d)
            } else {
                Rule::Domain(domain(item).map_err(|e| format!("{VAR}: {e}"))?)
            };
            rules.push(rule);
        }
        if rules.is_empty() {
            return Err(format!("{VAR} is set but lists no recipient"));
        }
        Ok(Self { rules })
    }

    /// The list for a tool description: its entries as parsed, or, past
    /// [`MAX_SHOWN_CHARS`], how many there are.
    pub fn shown(&self) -> String {
        let all: Vec<String> = self
            .rules
            .iter()
            .map(|r| match r {
                Rule::Domain(d) => d.clone(),
                Rule::Subdomains(d) => format!("*.{d}"),
                Rule::Address(l, d) => format!("{l}@{d}"),
            })
            .collect();
        let joined = all.join(", ");
        if joined.chars().count() <= MAX_SHOWN_CHARS {
            joined
        } else {
            format!("the {} entries the operator listed", all.len())
        }
    }

    /// `Ok` when mail may go to `a`; `Err` says why not.
    pub fn allows(&self, a: &str) -> Result<(), String> {
        let (local, dom) = address(a)?;
        let ok = self.rules.iter().any(|r| match r {
            Rule::Domain(d) => *d == dom,
            Rule::Subdomains(d) => dom.len() > d.len() + 1 && dom.ends_with(&format!(".{d}")),
            Rule::Address(l, d) => *l == local && *d == dom,
        });
        if ok {
            Ok(())
        } else {
            Err(format!("{a:?} is not among the recipients {VAR} allows"))
        }
    }
}

/// The variable of drafts-only mode, named in the descriptions it changes.
pub const DRAFTS_ONLY_VAR: &str = "TREKMAIL_DRAFTS_ONLY";

/// What a tool's description says of the outbound policy that holds for it, or "" when none
/// does: the recipients `send_to` allows (for a tool whose arguments name recipients; a tool
/// that mails a stored address is refused while it is set, and so are the values of a tool
/// naming no recipient that need the sending switch; a tool whose sender's default Cc/Bcc would
/// be added needs them turned off), the rate (for a tool that mails), and drafts-only mode (for
/// a tool that composes, and for values that need the sending switch).
pub fn policy_note(
    def: &ToolDef,
    send_to: Option<&SendTo>,
    send_rate: Option<&crate::call::send_rate::SendRate>,
    drafts_only: bool,
) -> String {
    // The head: a listing reads no entry.
    let h = &def.head;
    let e = &h.outbound;
    let mut note = String::new();
    if let Some(list) = send_to {
        if e.unnamed_recipients > 0 {
            note.push_str(&format!(" Refused while {VAR} is set."));
        } else if e.names_recipients {
            note.push_str(&format!(" Recipients only: {} ({VAR}).", list.shown()));
        } else if h.gates_when.contains(&GateName::Sending) {
            note.push_str(&format!(
                " What needs {} is refused while {VAR} is set.",
                GateName::Sending.env_var()
            ));
        }
        if let Some(a) = &e.default_recipients_arg {
            note.push_str(&format!(
                " Needs {a}: false (default Cc/Bcc cannot be checked)."
            ));
        }
    }
    if drafts_only && e.composes {
        note.push_str(&format!(
            " Drafts only: sending tools are not listed; a person sends drafts ({DRAFTS_ONLY_VAR})."
        ));
    }
    if drafts_only && h.gates_when.contains(&GateName::Sending) {
        note.push_str(&format!(
            " What needs {} is refused ({DRAFTS_ONLY_VAR}).",
            GateName::Sending.env_var()
        ));
    }
    if let Some(rate) = send_rate.filter(|_| e.sends) {
        note.push_str(&format!(
            " At most {} in all ({}).",
            rate.words(),
            crate::call::send_rate::VAR
        ));
    }
    note
}

/// How many recipients a call mails now: its distinct named recipients (case-insensitive) and
/// the stored ones no argument names; 0 for a call that does not mail (`sends` unset).
pub fn recipient_count(def: &ToolDef, args: &Map<String, Value>) -> u32 {
    if !def.entry.sends {
        return 0;
    }
    let (named, _) = recipients(def, args);
    let distinct: HashSet<String> = named.iter().map(|a| a.trim().to_lowercase()).collect();
    u32::try_from(distinct.len())
        .unwrap_or(u32::MAX)
        .saturating_add(def.entry.unnamed_recipients)
}

/// Every outbound recipient of a call, as written, and the targets that cannot be read plainly
/// (a Sieve redirect through a variable or an escape).
pub fn recipients(def: &ToolDef, args: &Map<String, Value>) -> (Vec<String>, Vec<String>) {
    let mut found = Vec::new();
    let mut unreadable = Vec::new();
    let mut push = |v: &Value| match v {
        Value::String(s) if !s.trim().is_empty() => found.push(s.clone()),
        Value::Array(a) => found.extend(a.iter().filter_map(Value::as_str).map(str::to_owned)),
        _ => {}
    };
    let paths = def.paths();
    for path in &paths.outbound_args {
        for (_, v) in path.values(args) {
            push(v);
        }
    }
    for (w, each) in def.entry.outbound_when.iter().zip(&paths.outbound_when) {
        for (_, item) in each.values(args) {
            if item.get(&w.when).is_some_and(|t| w.one_of.contains(t))
                && let Some(v) = item.get(&w.field)
                && truthy(v)
            {
                push(v);
            }
        }
    }
    for path in &paths.sieve_args {
        for script in path
            .values(args)
            .into_iter()
            .filter_map(|(_, v)| v.as_str())
        {
            let (targets, bad) = sieve_targets(script);
            found.extend(targets);
            unreadable.extend(bad);
        }
    }
    (found, unreadable)
}

/// The refusal for a call that names a recipient `send_to` does not allow, or `None`.
pub fn refusal(send_to: &SendTo, def: &ToolDef, args: &Map<String, Value>) -> Option<String> {
    let (found, unreadable) = recipients(def, args);
    let mut why: Vec<String> = unreadable
        .into_iter()
        .map(|t| {
            format!(
                "a Sieve target that cannot be read plainly ({t}) cannot be checked against {VAR}"
            )
        })
        .collect();
    if def.entry.unnamed_recipients > 0 {
        why.push(format!(
            "it mails a stored address that no argument names, which cannot be checked against {VAR}"
        ));
    }
    if opens_unnamed(def, args) {
        why.push(format!(
            "these arguments let mail leave the account (they need {}) for recipients no argument names (an auto-reply answers every sender), which cannot be checked against {VAR}",
            GateName::Sending.env_var()
        ));
    }
    // The API adds the sender's default Cc/Bcc unless told not to; no answer of the API shows
    // them, so they cannot be checked: the call must turn them off.
    if let Some(a) = &def.entry.default_recipients_arg
        && args.get(a) != Some(&Value::Bool(false))
    {
        why.push(format!(
            "without {a}: false the API adds the sender's default Cc/Bcc, stored addresses no argument names, which cannot be checked against {VAR}; call again with {a}: false"
        ));
    }
    why.extend(found.iter().filter_map(|a| send_to.allows(a).err()));
    if why.is_empty() {
        return None;
    }
    Some(format!(
        "{} refused by the operator's outbound policy ({VAR}); nothing was sent:\n- {}",
        def.entry.name,
        why.join("\n- ")
    ))
}

/// Whether these arguments open the sending gate (`gate_when`) of a tool whose map names no
/// recipient column: the mail goes to whoever the API picks (every sender, for an auto-reply),
/// like a Sieve `vacation`, so nothing can be checked.
fn opens_unnamed(def: &ToolDef, args: &Map<String, Value>) -> bool {
    !def.entry.names_recipients()
        && def
            .entry
            .gate_when
            .iter()
            .zip(&def.paths().gate_when)
            .any(|(g, at)| g.gate == GateName::Sending && g.applies(at, args))
}

/// Sieve actions that send mail to an address the script names.
const SIEVE_SENDING: [&str; 2] = ["redirect", "notify"];

/// Sieve actions that send mail to whoever wrote (an auto-reply): no address in the script says
/// who, so none can be checked.
const SIEVE_REPLYING: [&str; 1] = ["vacation"];

/// Where `action` occurs in `lower` as a whole word: the byte offsets just past each.
fn word_ends(lower: &str, action: &str) -> Vec<usize> {
    let bytes = lower.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    let mut ends = Vec::new();
    let mut at = 0;
    while let Some(i) = lower[at..].find(action) {
        let start = at + i;
        let end = start + action.len();
        at = end;
        if !((start > 0 && word(bytes[start - 1])) || bytes.get(end).is_some_and(|b| word(*b))) {
            ends.push(end);
        }
    }
    ends
}

/// The addresses a Sieve script's `redirect` and `notify` actions name, and the targets that
/// cannot be read plainly (a variable, an escape, a multi-line or list argument, the senders a
/// `vacation` replies to).
pub fn sieve_targets(script: &str) -> (Vec<String>, Vec<String>) {
    let mut found = Vec::new();
    let mut bad = Vec::new();
    let lower = script.to_ascii_lowercase();
    for action in SIEVE_REPLYING {
        bad.extend(
            word_ends(&lower, action)
                .into_iter()
                .map(|_| format!("{action} (a reply to each sender)")),
        );
    }
    for action in SIEVE_SENDING {
        for end in word_ends(&lower, action) {
            // Tags (`:copy`, `:from "x"`), then the target string.
            let mut rest = &script[end..];
            loop {
                rest = rest.trim_start();
                if let Some(r) = rest.strip_prefix(':') {
                    let n = r.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'));
                    rest = &r[n.unwrap_or(r.len())..];
                    // A tag's own string argument (`:from "a"`) is skipped when the action
                    // takes one; the last string is the target.
                    continue;
                }
                break;
            }
            let target = read_string(rest);
            match target {
                Some((t, _)) if !t.contains("${") && !t.contains('\\') => {
                    let t = t.strip_prefix("mailto:").unwrap_or(&t).to_owned();
                    let t = t.split('?').next().unwrap_or_default().to_owned();
                    found.push(t);
                }
                Some((t, _)) => bad.push(format!("{action} {t:?}")),
                None => bad.push(format!(
                    "{action} {}",
                    rest.chars().take(40).collect::<String>()
                )),
            }
        }
    }
    (found, bad)
}

/// A quoted string at the start of `s`, raw (escapes kept), and what follows it.
fn read_string(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('"')?;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some((body[..i].to_owned(), &body[i + 1..])),
            _ => escaped = false,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_as_documented() {
        let p = SendTo::parse("Example.com, *.corp.example, boss@Other.example, bücher.example")
            .unwrap_or_else(|e| panic!("{e}"));
        for ok in [
            "a@example.com",
            "A@EXAMPLE.COM",
            "x@eu.corp.example",
            "BOSS@other.example",
            "x@bücher.example",
            "x@xn--bcher-kva.example",
        ] {
            assert_eq!(p.allows(ok), Ok(()), "{ok}");
        }
        for no in [
            "a@sub.example.com",
            "x@corp.example",
            "other@other.example",
            "a@example.com.",
            "\"a@example.com\"@evil.example",
            "a%evil.example@example.com",
            "evil.example!a@example.com",
            "@example.com:a@evil.example",
            "a@[127.0.0.1]",
            "a@evil.example",
        ] {
            assert!(p.allows(no).is_err(), "{no}");
        }
    }

    #[test]
    fn sieve_targets_are_read_or_refused() {
        let (t, bad) = sieve_targets(
            "require [\"copy\"];\nif true { redirect :copy \"a@example.com\"; }\n# redirect\nREDIRECT \"b@x.example\";",
        );
        assert_eq!(t, vec!["a@example.com", "b@x.example"]);
        // The comment's bare `redirect` reads as a target that cannot be read: refused, closed.
        assert_eq!(bad.len(), 1);
        let (_, bad) = sieve_targets("redirect \"${to}\";");
        assert_eq!(bad.len(), 1);
        let (_, bad) = sieve_targets("redirect \"a\\@evil.example\";");
        assert_eq!(bad.len(), 1);
        let (_, bad) = sieve_targets("redirect text:\na@evil.example\n.\n;");
        assert_eq!(bad.len(), 1);
        // An auto-reply goes to whoever wrote: no address to check.
        let (t, bad) = sieve_targets("VACATION :days 1 \"Away until Monday\";");
        assert!(t.is_empty());
        assert_eq!(bad, ["vacation (a reply to each sender)"]);
        let (_, bad) = sieve_targets("if header :contains \"subject\" \"vacations\" { keep; }");
        assert!(bad.is_empty(), "{bad:?}");
    }
}
