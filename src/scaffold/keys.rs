//! Every key of [`Config`](crate::config::Config), found by deserializing it
//! from a tracer that records the field names serde asks for. Tests use it to
//! keep the `init` template in step with the config structs.

use std::cell::RefCell;

use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, Visitor};
use serde::Deserialize;

/// (table, key) for every key of every table of the config, e.g.
/// `("smtp", "url")`; nested tables are dotted (`listen.limits`).
pub fn all_keys() -> Vec<(String, String)> {
    let seen = RefCell::new(Vec::new());
    // The values are made up, so validation may fail; the names are recorded first.
    let _ = crate::config::Config::deserialize(Tracer {
        path: "",
        seen: &seen,
    });
    seen.into_inner()
}

#[derive(Debug)]
struct TraceError(String);

impl std::fmt::Display for TraceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for TraceError {}
impl de::Error for TraceError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        TraceError(msg.to_string())
    }
}

#[derive(Clone, Copy)]
struct Tracer<'a> {
    /// The table this value is in (`""` at the top).
    path: &'a str,
    seen: &'a RefCell<Vec<(String, String)>>,
}

struct Fields<'a> {
    path: String,
    fields: std::slice::Iter<'static, &'static str>,
    current: &'static str,
    seen: &'a RefCell<Vec<(String, String)>>,
}

impl<'de> MapAccess<'de> for Fields<'_> {
    type Error = TraceError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, TraceError> {
        let Some(&f) = self.fields.next() else {
            return Ok(None);
        };
        self.current = f;
        // Serde-internal names (toml::Spanned's `$__toml_private_*`) are no keys.
        if !self.path.is_empty() && !f.starts_with("$__") {
            self.seen
                .borrow_mut()
                .push((self.path.clone(), f.to_string()));
        }
        seed.deserialize(de::value::BorrowedStrDeserializer::new(f))
            .map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, TraceError> {
        let path = if self.path.is_empty() {
            self.current.to_string()
        } else {
            format!("{}.{}", self.path, self.current)
        };
        seed.deserialize(Tracer {
            path: &path,
            seen: self.seen,
        })
    }
}

impl<'de> Deserializer<'de> for Tracer<'_> {
    type Error = TraceError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_str("x")
    }
    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_bool(false)
    }
    fn deserialize_i8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_i64(1)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_i64(1)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_i64(1)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_i64(1)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_u64(1)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_u64(1)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_u64(1)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_u64(1)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_f64(1.0)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_f64(1.0)
    }
    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_char('x')
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_str("x")
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_str("x")
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_bytes(b"x")
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_bytes(b"x")
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_some(self)
    }
    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, TraceError> {
        v.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, TraceError> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_seq(de::value::SeqDeserializer::<_, TraceError>::new(
            std::iter::empty::<()>(),
        ))
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, TraceError> {
        self.deserialize_seq(v)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        v: V,
    ) -> Result<V::Value, TraceError> {
        self.deserialize_seq(v)
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_map(de::value::MapDeserializer::<_, TraceError>::new(
            std::iter::empty::<((), ())>(),
        ))
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, TraceError> {
        v.visit_map(Fields {
            path: self.path.to_string(),
            fields: fields.iter(),
            current: "",
            seen: self.seen,
        })
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, TraceError> {
        v.visit_enum(variants.first().copied().unwrap_or("x").into_deserializer())
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_str("x")
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_unit()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_nested_and_optional_tables() {
        let keys = super::all_keys();
        let has = |s: &str, k: &str| keys.iter().any(|(a, b)| a == s && b == k);
        assert!(has("newsletter", "postal_address"));
        assert!(has("smtp", "retry_max_delay_seconds"));
        assert!(has("dkim", "private_key"), "{keys:?}");
        assert!(
            !keys.iter().any(|(_, k)| k == "root"),
            "serde(skip) is no key"
        );
    }

    #[test]
    fn spanned_values_are_one_key() {
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Top {
            t: Inner,
        }
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Inner {
            url: Option<toml::Spanned<String>>,
            n: u32,
        }
        let seen = std::cell::RefCell::new(Vec::new());
        let _ = <Top as serde::Deserialize>::deserialize(super::Tracer {
            path: "",
            seen: &seen,
        });
        let names: Vec<String> = seen
            .into_inner()
            .into_iter()
            .map(|(s, k)| format!("{s}.{k}"))
            .collect();
        assert_eq!(names, ["t.url", "t.n"]);
    }
}
