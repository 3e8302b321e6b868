//! Stored values and their encodings. Short byte strings live inline (no heap block), integers as integers,
//! as Redis does with its `embstr` and `int` encodings; `OBJECT ENCODING` reports Redis's names.

/// Longest byte string kept inline, within the 24 bytes of the value itself.
pub const INLINE_CAP: usize = 22;

/// An immutable-length byte string, inline when short. `Raw` marks a string that Redis would have turned
/// into the `raw` encoding (after APPEND or SETRANGE) even though it is short.
#[derive(Clone)]
pub enum Bytes {
    Inline { len: u8, data: [u8; INLINE_CAP] },
    Heap(Box<[u8]>),
    Raw(Box<[u8]>),
}

impl Bytes {
    #[inline]
    pub fn new(b: &[u8]) -> Bytes {
        if b.len() <= INLINE_CAP {
            let mut data = [0u8; INLINE_CAP];
            data[..b.len()].copy_from_slice(b);
            Bytes::Inline {
                len: b.len() as u8,
                data,
            }
        } else {
            Bytes::Heap(b.into())
        }
    }

    /// A string Redis would keep in the `raw` encoding whatever its length.
    pub fn raw(b: Vec<u8>) -> Bytes {
        Bytes::Raw(b.into_boxed_slice())
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Inline { len, data } => &data[..*len as usize],
            Bytes::Heap(b) | Bytes::Raw(b) => b,
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_raw(&self) -> bool {
        matches!(self, Bytes::Raw(_))
    }

    /// Bytes of heap this string owns beyond the value itself.
    pub fn heap_size(&self) -> usize {
        match self {
            Bytes::Inline { .. } => 0,
            Bytes::Heap(b) | Bytes::Raw(b) => b.len(),
        }
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

impl PartialEq for Bytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

/// A value in the keyspace. Every string form answers `TYPE` with `string`. Collections are boxed so a
/// value stays 24 bytes whatever its type; a hash is a 16-byte handle that fits inline, which saves a
/// heap block per hash (see `hash.rs`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string that is the canonical decimal form of an i64 (Redis's `int` encoding).
    Int(i64),
    Str(Bytes),
    List(Box<super::list::List>),
    Hash(super::hash::Hash),
    Set(Box<super::set::Set>),
    ZSet(Box<super::zset::ZSet>),
    Stream(Box<super::stream::Stream>),
}

/// Longest string Redis keeps as `embstr`.
const EMBSTR_MAX: usize = 44;

impl Value {
    /// Stores a string the way Redis's `tryObjectEncoding` would: canonical integers as `int`.
    #[inline]
    pub fn from_bytes(b: &[u8]) -> Value {
        if b.len() <= 20 {
            if let Some(n) = crate::util::parse_i64(b) {
                return Value::Int(n);
            }
        }
        Value::Str(Bytes::new(b))
    }

    /// A string kept as given, never integer-encoded (Redis's `createStringObject` without encoding tries,
    /// e.g. the result of INCRBYFLOAT).
    pub fn string(b: &[u8]) -> Value {
        Value::Str(Bytes::new(b))
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) | Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Str(b) if !b.is_raw() && b.len() <= EMBSTR_MAX => "embstr",
            Value::Str(_) => "raw",
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(_) => "stream",
        }
    }

    /// The string form of a string value (formatting integers into `tmp`); None for other types.
    #[inline]
    pub fn as_bytes<'a>(&'a self, tmp: &'a mut [u8; 20]) -> Option<&'a [u8]> {
        match self {
            Value::Int(n) => Some(crate::util::fmt_i64(*n, tmp)),
            Value::Str(b) => Some(b.as_slice()),
            _ => None,
        }
    }

    /// Takes a string value out as an owned buffer (no copy when it already lives on the heap), leaving
    /// a placeholder the caller overwrites. Other types give an empty buffer.
    pub fn take_string(v: &mut Value) -> Vec<u8> {
        match std::mem::replace(v, Value::Int(0)) {
            Value::Str(Bytes::Heap(b) | Bytes::Raw(b)) => b.into_vec(),
            other => {
                let mut tmp = [0u8; 20];
                other
                    .as_bytes(&mut tmp)
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default()
            }
        }
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Str(_))
    }

    /// Approximate heap bytes owned, for MEMORY USAGE and DEBUG OBJECT.
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Int(_) => 0,
            Value::Str(b) => b.heap_size(),
            Value::List(l) => l.heap_size(),
            Value::Hash(h) => h.heap_size(),
            Value::Set(s) => s.heap_size(),
            Value::ZSet(z) => z.heap_size(),
            Value::Stream(s) => s.heap_size(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_stay_small() {
        assert_eq!(std::mem::size_of::<Bytes>(), 24);
        assert_eq!(std::mem::size_of::<Value>(), 24);
    }

    #[test]
    fn encodings_follow_redis() {
        assert_eq!(Value::from_bytes(b"123").encoding(), "int");
        assert_eq!(Value::from_bytes(b"0123").encoding(), "embstr");
        assert_eq!(Value::from_bytes(&[b'a'; 44]).encoding(), "embstr");
        assert_eq!(Value::from_bytes(&[b'a'; 45]).encoding(), "raw");
        assert_eq!(Value::Str(Bytes::raw(b"ab".to_vec())).encoding(), "raw");
        let mut t = [0u8; 20];
        assert_eq!(
            Value::from_bytes(b"-42").as_bytes(&mut t),
            Some(&b"-42"[..])
        );
    }
}
