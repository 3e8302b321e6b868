//! The set type and its encodings (placeholder shape until its family lands).

/// A set value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Set {}

impl Set {
    /// OBJECT ENCODING name, as Redis 7.0 reports it.
    pub fn encoding(&self) -> &'static str {
        "intset"
    }

    /// Approximate heap bytes owned.
    pub fn heap_size(&self) -> usize {
        0
    }
}
