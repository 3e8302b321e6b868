//! The keyspace: databases, values and their encodings, expiry, and glob matching.

pub mod db;
pub mod glob;
pub mod value;

pub use db::{Db, Entry};
pub use value::{Bytes, Value};
