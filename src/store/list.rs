//! The list type and its encodings (placeholder shape until its family lands).

/// A list value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct List {}

impl List {
    /// OBJECT ENCODING name, as Redis 7.0 reports it.
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Approximate heap bytes owned.
    pub fn heap_size(&self) -> usize {
        0
    }
}
