//! The hash type and its encodings (placeholder shape until its family lands).

/// A hash value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Hash {}

impl Hash {
    /// OBJECT ENCODING name, as Redis 7.0 reports it.
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }

    /// Approximate heap bytes owned.
    pub fn heap_size(&self) -> usize {
        0
    }
}
