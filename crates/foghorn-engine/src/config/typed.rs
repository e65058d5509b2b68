//! Reads configuration values with the type the key expects, so text from
//! the environment becomes a number, boolean or list only where the key
//! wants one (`FOGHORN_SMS__FROM=+12025550142` stays text).
//!
//! Environment variables are always text. Guessing a type from the text
//! (`123456` → integer) breaks every string key whose value happens to look
//! like a number: a phone number, a token, an account id. Instead the merged
//! table is read through [`Typed`], a deserializer that converts a string
//! only when the target asks for a number, a boolean or a list. Values that
//! came from the file already have their TOML type and pass through as is
//! (the file alone is checked strictly first, with line numbers).
//!
//! Lists from the environment may be written as a TOML array
//! (`["1s", "5s"]`) or separated by commas (`1s,5s`).

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Value;

type Error = toml::de::Error;

/// A config value read by the type its key expects.
pub struct Typed(pub Value);

/// For fields serde reads through a buffer (beside a `#[serde(flatten)]`),
/// where the target's type is not passed down: reads the value as TOML,
/// then through [`Typed`].
pub fn value<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: de::Deserializer<'de>,
    T: DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    T::deserialize(Typed(v)).map_err(|e| de::Error::custom(e.message()))
}

/// Text as a list: a TOML array, or items separated by commas.
fn list(text: &str) -> Result<Vec<Value>, Error> {
    let t = text.trim();
    if t.starts_with('[') {
        let parsed: toml::Table = format!("v = {t}")
            .parse()
            .map_err(|_| de::Error::custom(format!("`{text}` is not a TOML array")))?;
        return match parsed.get("v") {
            Some(Value::Array(a)) => Ok(a.clone()),
            _ => Err(de::Error::custom(format!("`{text}` is not a TOML array"))),
        };
    }
    Ok(t.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Value::String(s.to_string()))
        .collect())
}

macro_rules! from_text {
    ($($method:ident => $ty:ty, $visit:ident;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.0 {
                Value::String(s) => match s.trim().parse::<$ty>() {
                    Ok(n) => visitor.$visit(n),
                    Err(_) => Err(de::Error::invalid_value(de::Unexpected::Str(&s), &visitor)),
                },
                other => de::Deserializer::deserialize_any(other, visitor),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Typed {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Table(t) => visitor.visit_map(TypedMap {
                iter: t.into_iter(),
                value: None,
            }),
            Value::Array(a) => visitor.visit_seq(TypedSeq(a.into_iter())),
            other => de::Deserializer::deserialize_any(other, visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => match s.trim() {
                "true" => visitor.visit_bool(true),
                "false" => visitor.visit_bool(false),
                _ => Err(de::Error::invalid_value(
                    de::Unexpected::Str(&s),
                    &"true or false",
                )),
            },
            other => de::Deserializer::deserialize_any(other, visitor),
        }
    }

    from_text! {
        deserialize_i8 => i64, visit_i64;
        deserialize_i16 => i64, visit_i64;
        deserialize_i32 => i64, visit_i64;
        deserialize_i64 => i64, visit_i64;
        deserialize_u8 => u64, visit_u64;
        deserialize_u16 => u64, visit_u64;
        deserialize_u32 => u64, visit_u64;
        deserialize_u64 => u64, visit_u64;
        deserialize_f32 => f64, visit_f64;
        deserialize_f64 => f64, visit_f64;
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => visitor.visit_seq(TypedSeq(list(&s)?.into_iter())),
            other => Typed(other).deserialize_any(visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_enum(self.0, name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct tuple_struct map struct
        identifier ignored_any
    }
}

struct TypedSeq(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for TypedSeq {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0
            .next()
            .map(|v| seed.deserialize(Typed(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct TypedMap {
    iter: <toml::Table as IntoIterator>::IntoIter,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for TypedMap {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((k, v)) = self.iter.next() else {
            return Ok(None);
        };
        self.value = Some(v);
        seed.deserialize(de::value::StringDeserializer::<Error>::new(k))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(Typed(v)),
            None => Err(de::Error::custom("a value without its key")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn text(s: &str) -> Typed {
        Typed(Value::String(s.into()))
    }

    #[test]
    fn text_takes_the_type_the_target_wants() {
        assert_eq!(String::deserialize(text("123456")).unwrap(), "123456");
        assert_eq!(
            String::deserialize(text("+12025550142")).unwrap(),
            "+12025550142"
        );
        assert_eq!(u32::deserialize(text("42")).unwrap(), 42);
        assert_eq!(f64::deserialize(text("0.1")).unwrap(), 0.1);
        assert_eq!(f64::deserialize(text("2")).unwrap(), 2.0);
        assert!(bool::deserialize(text("true")).unwrap());
        assert!(bool::deserialize(text("yes")).is_err());
        assert!(u32::deserialize(text("-1")).is_err());
        assert!(u8::deserialize(text("300")).is_err());
        assert_eq!(
            Option::<String>::deserialize(text("9900000")).unwrap(),
            Some("9900000".into())
        );
    }

    #[test]
    fn lists_are_toml_arrays_or_comma_separated() {
        assert_eq!(
            Vec::<String>::deserialize(text("[\"1s\", \"2s\"]")).unwrap(),
            ["1s", "2s"]
        );
        assert_eq!(
            Vec::<String>::deserialize(text("mailgun, sendgrid")).unwrap(),
            ["mailgun", "sendgrid"]
        );
        assert_eq!(Vec::<u32>::deserialize(text("1,2")).unwrap(), [1, 2]);
        assert!(Vec::<String>::deserialize(text("[unclosed")).is_err());
    }

    #[test]
    fn typed_values_pass_through_and_tables_nest() {
        let t: toml::Table = "a = 1\nb = \"2\"\n".parse().unwrap();
        let m = BTreeMap::<String, u32>::deserialize(Typed(Value::Table(t))).unwrap();
        assert_eq!(m["a"], 1);
        assert_eq!(m["b"], 2);
        assert!(String::deserialize(Typed(Value::Integer(5))).is_err());
    }
}
