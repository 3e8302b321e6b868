//! ferrokv: a Redis-compatible in-memory key-value server on one mio reactor thread.
//!
//! - [`server`]: the loop, connections, accept, timers (owns all state)
//! - [`protocol`]: RESP request parser and RESP2/RESP3 reply encoder
//! - [`cmd`]: the command table and one module per command family
//! - [`store`]: databases, values and encodings, expiry, glob matching
//! - [`config`]: flags, config files and the CONFIG parameter table

pub mod cmd;
pub mod config;
pub mod protocol;
pub mod server;
pub mod store;
pub mod util;
