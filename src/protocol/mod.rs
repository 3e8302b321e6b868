//! RESP on the wire: the incremental request parser and the RESP2/RESP3 reply encoder.

pub mod parse;
pub mod reply;

pub use parse::{Parsed, Parser, ProtoError};
pub use reply::Out;
