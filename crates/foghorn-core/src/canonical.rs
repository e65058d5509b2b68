//! Canonical JSON: one byte string per JSON value, for hashing and signing.
//!
//! Object keys are sorted (by their UTF-8 bytes) at every depth, there is
//! no whitespace, and strings and numbers are written as serde_json writes
//! them. Two documents that mean the same thing therefore hash alike, and a
//! signature over the form survives a reader re-serialising the document.

use serde_json::Value;

/// The canonical text of `v`.
pub fn to_string(v: &Value) -> String {
    let mut out = String::new();
    write(v, &mut out);
    out
}

fn write(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::to_string;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_at_every_depth_and_nothing_is_spaced() {
        let v = json!({"b": [{"z": 1, "a": null}], "a": {"y": "x", "c": true}});
        assert_eq!(
            to_string(&v),
            r#"{"a":{"c":true,"y":"x"},"b":[{"a":null,"z":1}]}"#
        );
    }

    #[test]
    fn the_same_value_written_differently_has_one_form() {
        let a: serde_json::Value =
            serde_json::from_str("{ \"k\" : [1, 2] ,\n \"j\":\"\\u00e9\" }").unwrap_or_default();
        let b = json!({"j": "é", "k": [1, 2]});
        assert_eq!(to_string(&a), to_string(&b));
        assert_eq!(to_string(&b), "{\"j\":\"é\",\"k\":[1,2]}");
    }

    #[test]
    fn strings_are_escaped_as_json() {
        let v = json!({"q\"": "line\nbreak"});
        assert_eq!(to_string(&v), r#"{"q\"":"line\nbreak"}"#);
    }
}
