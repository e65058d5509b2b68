//! The proof as a PDF: lines of Helvetica on A4 pages, written by hand.
//!
//! A text-only document needs a catalog, a page tree, one font and a
//! content stream per page; a few dozen lines write that with a correct
//! cross-reference table, where a PDF crate would bring fonts, images and
//! compression this page never uses. Text outside Windows-1252's Latin-1
//! range is shown as `?` (the standard fonts have no other glyphs).

use super::document::{Owner, Proof};

const PAGE_WIDTH: u32 = 595;
const PAGE_HEIGHT: u32 = 842;
const MARGIN: u32 = 50;
const FONT_SIZE: u32 = 9;
const LEADING: u32 = 12;
/// Characters per line at 9 pt Helvetica inside the margins (a safe
/// average; longer lines wrap).
const LINE_CHARS: usize = 100;

/// The PDF bytes.
pub fn render(proof: &Proof) -> Vec<u8> {
    let lines: Vec<String> = text(proof).iter().flat_map(|l| wrap(l)).collect();
    let per_page = ((PAGE_HEIGHT - 2 * MARGIN) / LEADING) as usize;
    let pages: Vec<&[String]> = lines.chunks(per_page.max(1)).collect();
    write(&pages)
}

/// The document as lines of text, the same facts as the HTML page.
fn text(proof: &Proof) -> Vec<String> {
    let t = &proof.totals;
    let mut out = vec![
        format!("Proof of notice: {} ({})", proof.event_name, proof.event_id),
        format!("Tenant: {}", proof.tenant),
        format!("Generated at: {}", proof.generated_at),
        format!(
            "Owners: {}   Reached: {}   Acknowledged: {}   Unreachable: {}",
            proof.owners.len(),
            t.reached,
            t.acknowledged,
            t.unreachable
        ),
    ];
    if let Some(s) = &proof.signature {
        out.push(format!("Signed: {} key {}", s.algorithm, s.key_id));
    }
    if let Some(a) = &proof.anchor {
        out.push(format!(
            "Audit row {}, entry hash {}",
            a.audit_seq, a.entry_hash
        ));
        out.push(format!("Document SHA-256 {}", a.document_sha256));
    }
    out.push(
        "The signed JSON export is the proof: foghorn proof verify FILE --public-key KEY".into(),
    );
    for o in &proof.owners {
        out.push(String::new());
        owner(&mut out, o);
    }
    out
}

fn owner(out: &mut Vec<String>, o: &Owner) {
    out.push(format!("Owner {}", o.subscriber));
    match (&o.acknowledged, &o.reason) {
        (Some(a), _) => out.push(format!(
            "  Acknowledged at {} via {} by {}",
            a.at, a.via, a.by
        )),
        (None, r) => out.push(format!("  {}", super::document::sentence(r.as_deref()))),
    }
    for a in &o.attempts {
        out.push(format!(
            "  attempt {}  {}  {}  {}  {}{}",
            a.time,
            a.channel,
            a.provider,
            a.outcome,
            a.provider_message_id.as_deref().unwrap_or("-"),
            a.http_status
                .map(|s| format!("  HTTP {s}"))
                .unwrap_or_default()
        ));
    }
    for r in &o.receipts {
        out.push(format!(
            "  receipt {}  {}  {}  {}",
            r.time,
            r.kind,
            r.channel,
            r.provider.as_deref().unwrap_or("-")
        ));
    }
}

/// Splits a line into pieces of at most [`LINE_CHARS`] characters,
/// continuation lines indented.
fn wrap(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= LINE_CHARS {
        return vec![line.to_string()];
    }
    let mut out = vec![chars[..LINE_CHARS].iter().collect::<String>()];
    for piece in chars[LINE_CHARS..].chunks(LINE_CHARS - 4) {
        out.push(format!("    {}", piece.iter().collect::<String>()));
    }
    out
}

/// A PDF string literal's body: `\`, `(` and `)` escaped; Latin-1
/// characters as octal escapes (WinAnsiEncoding agrees with Latin-1 there),
/// anything else `?`.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '(' | ')' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            '\u{a0}'..='\u{ff}' => out.push_str(&format!("\\{:03o}", u32::from(c))),
            _ => out.push('?'),
        }
    }
    out
}

fn content(lines: &[String], page: usize, pages: usize) -> String {
    let top = PAGE_HEIGHT - MARGIN;
    let mut s = format!("BT\n/F1 {FONT_SIZE} Tf\n{LEADING} TL\n{MARGIN} {top} Td\n");
    for l in lines {
        s.push_str(&format!("({}) Tj T*\n", literal(l)));
    }
    s.push_str("ET\n");
    s.push_str(&format!(
        "BT\n/F1 8 Tf\n{MARGIN} {} Td\n(Page {page} of {pages}) Tj\nET\n",
        MARGIN / 2
    ));
    s
}

/// Objects: 1 catalog, 2 page tree, 3 font, then a page and its content
/// stream per page; the cross-reference table lists each object's byte
/// offset, as readers seek by it.
fn write(pages: &[&[String]]) -> Vec<u8> {
    let pages: Vec<&[String]> = if pages.is_empty() {
        vec![&[]]
    } else {
        pages.to_vec()
    };
    let mut objects: Vec<Vec<u8>> = Vec::new();
    let kids: Vec<String> = (0..pages.len())
        .map(|i| format!("{} 0 R", 4 + 2 * i))
        .collect();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        )
        .into_bytes(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    for (i, lines) in pages.iter().enumerate() {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
                 /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                5 + 2 * i
            )
            .into_bytes(),
        );
        let stream = content(lines, i + 1, pages.len());
        let mut obj = format!("<< /Length {} >>\nstream\n", stream.len()).into_bytes();
        obj.extend_from_slice(stream.as_bytes());
        obj.extend_from_slice(b"endstream");
        objects.push(obj);
    }
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_in_the_xref_point_at_their_objects() {
        let lines: Vec<String> = (0..150)
            .map(|i| format!("line {i} (with parens)"))
            .collect();
        let pages: Vec<&[String]> = lines.chunks(60).collect();
        let pdf = write(&pages);
        let text = String::from_utf8_lossy(&pdf).into_owned();
        assert!(pdf.starts_with(b"%PDF-1.4"));
        assert!(text.ends_with("%%EOF\n"));
        assert!(text.contains("/Count 3"));
        let start: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(pdf[start..].starts_with(b"xref"));
        // Byte offsets: the header's binary comment is not UTF-8.
        let table = String::from_utf8(pdf[start..].to_vec()).unwrap();
        for (n, row) in table.lines().skip(3).take(9).enumerate() {
            let offset: usize = row[..10].parse().unwrap();
            assert!(
                pdf[offset..].starts_with(format!("{} 0 obj", n + 1).as_bytes()),
                "object {}",
                n + 1
            );
        }
        assert!(text.contains("(line 0 \\(with parens\\)) Tj"));
    }

    #[test]
    fn text_is_escaped_and_long_lines_wrap() {
        assert_eq!(literal("a\\b(c)é✓"), "a\\\\b\\(c\\)\\351?");
        let long = "x".repeat(250);
        let parts = wrap(&long);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.chars().count() <= LINE_CHARS));
    }
}
