//! Short links in SMS: each `http(s)://…` in the text becomes
//! `{public_url}/l/{code}`, which redirects to it and records the click on
//! the notification. Shorter texts cost fewer segments.
//!
//! A code is a keyed hash of the notification id and the URL (11 base64url
//! characters, 64 bits): unguessable, and the same on every retry of the
//! send, so retries reuse their links instead of minting new ones.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use foghorn_store::crypto::Crypto;

const PURPOSE: &str = "short link";
/// Length of every code.
pub const CODE_LEN: usize = 11;

/// The code for `url` in notification `notification_id`.
pub fn code(crypto: &Crypto, notification_id: &str, url: &str) -> Option<String> {
    let data = format!("{notification_id}\n{url}");
    let tag = crypto.sign(PURPOSE, data.as_bytes())?;
    Some(B64.encode(&tag[..8]))
}

/// The URLs in `text`, as byte ranges. A URL runs to the next whitespace,
/// less trailing punctuation that usually ends the sentence around it.
fn urls(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = ["https://", "http://"]
        .iter()
        .filter_map(|p| text[from..].find(p))
        .min()
    {
        let start = from + found;
        let end = text[start..]
            .find(char::is_whitespace)
            .map_or(text.len(), |e| start + e);
        let trimmed =
            text[start..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '\'', '"']);
        let end = start + trimmed.len();
        if trimmed.len() > "https://".len() {
            out.push((start, end));
        }
        from = end.max(start + 1);
    }
    out
}

/// `text` with its URLs replaced by `{base}/l/{code}`, and the (code, URL)
/// pairs to store. `code_for` returns None to leave a URL as it is.
pub fn rewrite(
    text: &str,
    base: &str,
    mut code_for: impl FnMut(&str) -> Option<String>,
) -> (String, Vec<(String, String)>) {
    let base = base.trim_end_matches('/');
    let mut out = String::with_capacity(text.len());
    let mut links = Vec::new();
    let mut last = 0;
    for (start, end) in urls(text) {
        let url = &text[start..end];
        out.push_str(&text[last..start]);
        match code_for(url) {
            Some(code) => {
                out.push_str(&format!("{base}/l/{code}"));
                links.push((code, url.to_string()));
            }
            None => out.push_str(url),
        }
        last = end;
    }
    out.push_str(&text[last..]);
    (out, links)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_each_url_and_keeps_the_sentence() {
        let crypto = Crypto::ephemeral();
        let text = "See https://navidocs.example/boats/j51/w/17?tab=claims. Or (http://x.example/a), not https://";
        let (out, links) = rewrite(text, "https://fh.example/", |u| code(&crypto, "ntf_1", u));
        assert_eq!(links.len(), 2);
        assert_eq!(
            links[0].1,
            "https://navidocs.example/boats/j51/w/17?tab=claims"
        );
        assert_eq!(links[1].1, "http://x.example/a");
        assert_eq!(
            out,
            format!(
                "See https://fh.example/l/{}. Or (https://fh.example/l/{}), not https://",
                links[0].0, links[1].0
            )
        );
        assert!(links.iter().all(|(c, _)| c.len() == CODE_LEN));
        // The same notification and URL give the same code; another does not.
        let again = code(&crypto, "ntf_1", &links[0].1).unwrap();
        assert_eq!(again, links[0].0);
        assert_ne!(code(&crypto, "ntf_2", &links[0].1).unwrap(), again);
        let (same, none) = rewrite("no links here", "https://fh.example", |_| None);
        assert_eq!((same.as_str(), none.len()), ("no links here", 0));
    }
}
