//! How many SMS segments a text costs, and in which encoding.
//!
//! Providers bill per segment and some (Vonage, MessageBird) must be told to
//! use UCS-2, or they replace every character outside GSM-7 with `?`.
//!
//! Facts relied on (3GPP TS 23.038, "GSM 7 bit default alphabet"):
//! - the basic table has 128 characters, one septet each; the extension table
//!   (form feed, `^ { } \ [ ~ ] |` and `€`) costs an escape septet plus one;
//! - a single message holds 140 octets: 160 septets or 70 UCS-2 units;
//! - a concatenated message spends 6 octets per part on the user data header,
//!   leaving 153 septets or 67 UCS-2 units per part;
//! - an escape sequence must not be split across parts, nor a UTF-16
//!   surrogate pair (characters outside the BMP, such as emoji, take two
//!   UCS-2 units), so a part that cannot hold the whole character ends early.

/// The encoding a text needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    pub encoding: Encoding,
    /// Septets for GSM-7 (extension characters count 2), UTF-16 code units
    /// for UCS-2.
    pub units: usize,
    /// Parts the text is sent in; 0 for the empty text, which has nothing to
    /// send.
    pub segments: usize,
}

const GSM7_SINGLE: usize = 160;
const GSM7_PART: usize = 153;
const UCS2_SINGLE: usize = 70;
const UCS2_PART: usize = 67;

/// The GSM 03.38 basic table, in code-point order of the standard (0x1B, the
/// escape to the extension table, is not a character and is left out).
const GSM7_BASIC: &str = concat!(
    "@£$¥èéùìòÇ\nØø\rÅå",
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ",
    " !\"#¤%&'()*+,-./",
    "0123456789:;<=>?",
    "¡ABCDEFGHIJKLMNO",
    "PQRSTUVWXYZÄÖÑÜ§",
    "¿abcdefghijklmno",
    "pqrstuvwxyzäöñüà",
);

/// The extension table's characters: each is sent as escape + code.
const GSM7_EXTENSION: &str = "\u{0C}^{}\\[~]|€";

/// Septets `c` takes in GSM-7, or `None` when GSM-7 cannot carry it.
pub fn gsm7_septets(c: char) -> Option<usize> {
    if c.is_ascii_alphanumeric() || GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

pub fn count(text: &str) -> SegmentInfo {
    let septets: Option<Vec<usize>> = text.chars().map(gsm7_septets).collect();
    match septets {
        Some(sizes) => SegmentInfo {
            encoding: Encoding::Gsm7,
            units: sizes.iter().sum(),
            segments: parts(&sizes, GSM7_SINGLE, GSM7_PART),
        },
        None => {
            let sizes: Vec<usize> = text.chars().map(char::len_utf16).collect();
            SegmentInfo {
                encoding: Encoding::Ucs2,
                units: sizes.iter().sum(),
                segments: parts(&sizes, UCS2_SINGLE, UCS2_PART),
            }
        }
    }
}

/// Parts needed for characters of the given sizes: one if everything fits
/// the single-message limit, else parts filled greedily up to `part`, a
/// character that does not fit whole starting the next part.
fn parts(sizes: &[usize], single: usize, part: usize) -> usize {
    let total: usize = sizes.iter().sum();
    if total == 0 {
        return 0;
    }
    if total <= single {
        return 1;
    }
    let (mut count, mut used) = (1, 0);
    for &size in sizes {
        if used + size > part {
            count += 1;
            used = 0;
        }
        used += size;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use Encoding::{Gsm7, Ucs2};

    fn info(encoding: Encoding, units: usize, segments: usize) -> SegmentInfo {
        SegmentInfo {
            encoding,
            units,
            segments,
        }
    }

    #[test]
    fn the_tables_are_the_standards() {
        // 128 code points less the escape (0x1B), which is not a character.
        assert_eq!(GSM7_BASIC.chars().count(), 127);
        assert_eq!(GSM7_EXTENSION.chars().count(), 10);
        assert!(GSM7_BASIC.chars().all(|c| !GSM7_EXTENSION.contains(c)));
    }

    #[test]
    fn counts_tricky_texts() {
        let gsm_160 = "a".repeat(160);
        let gsm_161 = "a".repeat(161);
        let gsm_306 = "b".repeat(306);
        let gsm_307 = "b".repeat(307);
        let ucs_70 = "ê".repeat(70);
        let ucs_71 = "ê".repeat(71);
        // 152 septets then an extension character: it cannot be split, so
        // it opens the second part (152 + 2 > 153).
        let ext_at_boundary = format!("{}€{}", "c".repeat(152), "d".repeat(10));
        // Same total (164 septets) without the boundary problem: still 2.
        let ext_inside = format!("€{}", "d".repeat(162));
        // 66 units then an emoji (2 units): the pair opens part two.
        let pair_at_boundary = format!("{}😀{}", "ж".repeat(66), "ж".repeat(10));
        let pair_exact = format!("{}😀", "ж".repeat(65));
        let cases: Vec<(&str, &str, SegmentInfo)> = vec![
            ("empty", "", info(Gsm7, 0, 0)),
            ("euro", "€", info(Gsm7, 2, 1)),
            ("bracket", "[", info(Gsm7, 2, 1)),
            ("form feed", "\u{0C}", info(Gsm7, 2, 1)),
            ("every extension", "^{}\\[~]|€", info(Gsm7, 18, 1)),
            ("emoji", "😀", info(Ucs2, 2, 1)),
            ("emoji in text", "hi 😀", info(Ucs2, 5, 1)),
            (
                "accents in GSM-7",
                "é à ñ ü Ö Ä Ç É è ù ì ò",
                info(Gsm7, 23, 1),
            ),
            ("greek capitals", "ΔΦΓΛΩΠΨΣΘΞ", info(Gsm7, 10, 1)),
            ("ê is not GSM-7", "crêpe", info(Ucs2, 5, 1)),
            ("lower-case ç is not", "ça", info(Ucs2, 2, 1)),
            ("upper-case Ç is", "Ça", info(Gsm7, 2, 1)),
            ("á is not", "está", info(Ucs2, 4, 1)),
            ("backtick is not", "`", info(Ucs2, 1, 1)),
            ("newlines", "a\nb\r\n", info(Gsm7, 5, 1)),
            ("160 GSM", &gsm_160, info(Gsm7, 160, 1)),
            ("161 GSM", &gsm_161, info(Gsm7, 161, 2)),
            ("153×2 GSM", &gsm_306, info(Gsm7, 306, 2)),
            ("153×2+1 GSM", &gsm_307, info(Gsm7, 307, 3)),
            ("70 UCS-2", &ucs_70, info(Ucs2, 70, 1)),
            ("71 UCS-2", &ucs_71, info(Ucs2, 71, 2)),
            ("extension at 153", &ext_at_boundary, info(Gsm7, 164, 2)),
            ("extension inside", &ext_inside, info(Gsm7, 164, 2)),
            ("pair at 67", &pair_at_boundary, info(Ucs2, 78, 2)),
            ("pair fills 67", &pair_exact, info(Ucs2, 67, 1)),
        ];
        for (name, text, expected) in cases {
            assert_eq!(count(text), expected, "{name}");
        }
    }

    #[test]
    fn unsplittable_characters_open_a_new_part() {
        // 153 septets exactly fill part one; one more is part two.
        let exact = format!("{}€{}", "a".repeat(151), "b".repeat(153));
        assert_eq!(count(&exact), info(Gsm7, 306, 2));
        // Shift the euro one septet later: it straddles 153, so it moves to
        // part two, which then overflows into a third part.
        let straddle = format!("{}€{}", "a".repeat(152), "b".repeat(152));
        assert_eq!(count(&straddle), info(Gsm7, 306, 3));
        // The same for a surrogate pair at the 67-unit UCS-2 boundary.
        let straddle_pair = format!("{}😀{}", "ж".repeat(66), "ж".repeat(66));
        assert_eq!(count(&straddle_pair), info(Ucs2, 134, 3));
        let exact_pair = format!("{}😀{}", "ж".repeat(65), "ж".repeat(67));
        assert_eq!(count(&exact_pair), info(Ucs2, 134, 2));
    }
}
