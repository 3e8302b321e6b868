//! The keyspace: databases, values and their encodings, expiry, and glob matching.

pub mod db;
pub mod glob;
pub mod hash;
pub mod list;
pub mod rdb;
pub mod rdbfile;
pub mod set;
pub mod stream;
pub mod value;
pub mod zset;

pub use db::{Db, Entry};
pub use value::{Bytes, Value};
