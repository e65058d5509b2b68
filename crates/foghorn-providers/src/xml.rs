//! Text and attribute values inside the call markups (TwiML, BXML): the
//! five XML characters escaped, control characters dropped (XML 1.0 has
//! no way to carry them).

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_and_controls_cannot_pass() {
        assert_eq!(
            super::escape("<Hangup/> & \"x\" 'y'\u{7}"),
            "&lt;Hangup/&gt; &amp; &quot;x&quot; &apos;y&apos;"
        );
    }
}
