//! The one truncation of text shown to agents and people: at most a number of characters, and
//! `…` when something was cut.

/// `s` cut to its first `max` characters, with `…` appended when it was longer.
pub fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::cut;

    #[test]
    fn cuts_characters_not_bytes_and_says_so() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "abc…");
        assert_eq!(cut("ééé", 2), "éé…");
        assert_eq!(cut("", 0), "");
    }
}
