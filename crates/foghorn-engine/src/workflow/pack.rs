//! The NaviDocs pack compiled into the binary (see `build.rs`).

include!(concat!(env!("OUT_DIR"), "/pack_files.rs"));

/// Files under `prefix/`, with the prefix removed.
pub(crate) fn files_under(prefix: &str) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
    FILES.iter().filter_map(move |(path, text)| {
        path.strip_prefix(prefix)
            .and_then(|p| p.strip_prefix('/'))
            .map(|p| (p, *text))
    })
}

/// The demo's sample subscribers and events.
pub fn samples_json() -> &'static str {
    FILES
        .iter()
        .find(|(p, _)| *p == "samples.json")
        .map(|(_, t)| *t)
        .unwrap_or(r#"{"subscribers":[],"events":[]}"#)
}
