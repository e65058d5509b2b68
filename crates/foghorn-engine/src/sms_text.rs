//! SMS text the way it will be billed: segment counts, and cutting a text
//! down to a step's `max_segments`.
//!
//! A text over the cap is cut at a word boundary and ends in `...` (three
//! GSM-7 dots: the single `…` character is not in GSM-7 and would turn the
//! whole message into UCS-2, halving what fits). A link at the very end is
//! kept whole: the words before it are shortened instead, since a cut link
//! is worse than no link. If even the link alone does not fit, it goes too.

use foghorn_core::segments::{count, Encoding, SegmentInfo};

const ELLIPSIS: &str = "...";
/// How far back from the cut to look for a space to cut at instead.
const WORD_BACKOFF: usize = 20;

/// A text as it will be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fitted {
    pub text: String,
    pub info: SegmentInfo,
    /// Characters, as a person counts them.
    pub characters: usize,
    pub truncated: bool,
}

pub fn encoding_name(e: Encoding) -> &'static str {
    match e {
        Encoding::Gsm7 => "gsm7",
        Encoding::Ucs2 => "ucs2",
    }
}

/// `text`, cut to at most `max_segments` when a cap is set.
pub fn fit(text: &str, max_segments: Option<u32>) -> Fitted {
    let info = count(text);
    let max = match max_segments {
        Some(m) if info.segments > m as usize => m as usize,
        _ => return fitted(text.to_string(), false),
    };
    let (body, link) = split_trailing_link(text);
    if let Some(t) = cut(body, link, max) {
        return fitted(t, true);
    }
    // The link alone is over the cap: cut the whole text instead.
    fitted(cut(text, "", max).unwrap_or_default(), true)
}

fn fitted(text: String, truncated: bool) -> Fitted {
    Fitted {
        info: count(&text),
        characters: text.chars().count(),
        text,
        truncated,
    }
}

/// The longest `body[..n] + "..." + link` within `max` segments.
fn cut(body: &str, link: &str, max: usize) -> Option<String> {
    let chars: Vec<char> = body.chars().collect();
    let build = |n: usize| {
        let prefix: String = chars[..n].iter().collect();
        format!("{}{ELLIPSIS}{link}", prefix.trim_end())
    };
    if count(&build(0)).segments > max {
        return None;
    }
    // Segments only grow with the prefix: binary search the longest fit.
    let (mut lo, mut hi) = (0, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if count(&build(mid)).segments <= max {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    // Prefer ending on a whole word.
    let start = lo.saturating_sub(WORD_BACKOFF);
    let n = if lo < chars.len() && !chars[lo].is_whitespace() {
        (start..lo)
            .rev()
            .find(|&i| chars[i].is_whitespace())
            .unwrap_or(lo)
    } else {
        lo
    };
    Some(build(n))
}

/// (`text` before a final link, " link"); the link is empty when the text
/// does not end in one.
fn split_trailing_link(text: &str) -> (&str, &str) {
    let trimmed = text.trim_end();
    match trimmed.rfind(char::is_whitespace) {
        Some(i) => {
            let last = &trimmed[i + 1..];
            if last.starts_with("https://") || last.starts_with("http://") {
                (&trimmed[..i], &trimmed[i..])
            } else {
                (trimmed, "")
            }
        }
        None => (trimmed, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_within_the_cap_are_untouched() {
        let f = fit("Short and sweet.", Some(1));
        assert_eq!((f.text.as_str(), f.truncated), ("Short and sweet.", false));
        assert_eq!((f.info.segments, f.characters), (1, 16));
        let long = "word ".repeat(50);
        assert!(!fit(&long, None).truncated);
    }

    #[test]
    fn long_texts_are_cut_on_a_word_and_keep_their_link() {
        let link = "https://navidocs.example/boats/jeanneau-51/warranties/w-17";
        let text = format!(
            "{} {link}",
            "The engine warranty ends soon and claims need filing".repeat(4)
        );
        let f = fit(&text, Some(1));
        assert!(f.truncated);
        assert_eq!(f.info.segments, 1);
        assert!(f.text.ends_with(&format!("... {link}")), "{}", f.text);
        assert!(f.info.units <= 160);
        let before = f.text.trim_end_matches(&format!("... {link}"));
        assert!(text.starts_with(before) && before.ends_with(|c: char| c.is_alphanumeric()));
    }

    #[test]
    fn ucs2_texts_are_cut_to_their_smaller_segments() {
        let text = "Garantie du moteur: réparation à vos frais après l'échéance ✓ ".repeat(5);
        let f = fit(&text, Some(2));
        assert!(f.truncated && f.info.segments <= 2, "{f:?}");
        assert_eq!(f.info.encoding, Encoding::Ucs2);
        assert!(f.text.ends_with("..."));
    }

    #[test]
    fn a_link_too_long_for_the_cap_is_cut_with_the_rest() {
        let text = format!("Hi https://example.com/{}", "x".repeat(400));
        let f = fit(&text, Some(1));
        assert!(f.truncated && f.info.segments == 1);
        assert!(f.text.starts_with("Hi https://example.com/x"));
    }
}
