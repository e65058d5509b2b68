//! The statuses written into SQL as literals (`status IN ('queued',
//! 'scheduled')`, `CASE status WHEN 'sent' …`) are names of
//! [`foghorn_core::Status`]: a misspelt one would match nothing and fail
//! silently, so every such literal in the store's sources is checked here.

use foghorn_core::Status;

const SOURCES: [(&str, &str); 6] = [
    ("accept.rs", include_str!("accept.rs")),
    ("inbound.rs", include_str!("inbound.rs")),
    ("notifications.rs", include_str!("notifications.rs")),
    ("queue.rs", include_str!("queue.rs")),
    ("reseal.rs", include_str!("reseal.rs")),
    ("suppressions.rs", include_str!("suppressions.rs")),
];

/// The quoted literals at the start of `text` and after each separator
/// until `end`.
fn quoted_until<'a>(text: &'a str, end: &str) -> Vec<&'a str> {
    let stop = text.find(end).unwrap_or(text.len());
    text[..stop].split('\'').skip(1).step_by(2).collect()
}

/// Every status literal compared with or assigned to the `status` column.
fn status_literals(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for (i, _) in src.match_indices("status") {
        let before = src[..i].chars().next_back();
        let rest = &src[i + "status".len()..];
        if before.is_some_and(word) || rest.chars().next().is_some_and(word) {
            continue;
        }
        let rest = rest.trim_start();
        let found: Vec<&str> = if let Some(r) = rest.strip_prefix("= '") {
            r.split('\'').next().into_iter().collect()
        } else if let Some(r) = rest
            .strip_prefix("IN (")
            .or_else(|| rest.strip_prefix("NOT IN ("))
        {
            quoted_until(r, ")")
        } else if src[..i].trim_end().ends_with("CASE") {
            // `CASE status WHEN 'a' THEN … WHEN 'b' …`: the WHEN arms, not
            // what they yield.
            let body = &rest[..rest.find("END").unwrap_or(rest.len())];
            body.split("WHEN '")
                .skip(1)
                .filter_map(|arm| arm.split('\'').next())
                .collect()
        } else if let Some(r) = rest.strip_prefix("ELSE '") {
            r.split('\'').next().into_iter().collect()
        } else {
            Vec::new()
        };
        out.extend(found.into_iter().map(str::to_string));
    }
    out
}

#[test]
fn every_status_literal_in_sql_is_a_status() {
    let mut seen = 0;
    for (file, src) in SOURCES {
        for literal in status_literals(src) {
            assert!(
                literal.parse::<Status>().is_ok(),
                "{file}: `{literal}` is not a status"
            );
            seen += 1;
        }
    }
    // The scan itself must find what is there, or it proves nothing.
    assert!(seen >= 20, "only {seen} status literals found");
}

#[test]
fn the_scan_catches_a_misspelt_status() {
    let bad = "UPDATE notifications SET status = 'sendng' WHERE status IN ('queued', 'schedule')";
    assert_eq!(status_literals(bad), ["sendng", "queued", "schedule"]);
    let case = "(CASE status WHEN 'sent' THEN 1 WHEN 'bounce' THEN 2 ELSE 9 END)";
    assert_eq!(status_literals(case), ["sent", "bounce"]);
}
