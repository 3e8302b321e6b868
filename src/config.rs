//! Server settings: the command-line flags (clap), redis.conf-style config files, and the table of named
//! parameters that CONFIG GET/SET read and write, with Redis's names and value formats.

use std::path::PathBuf;

use clap::Parser;

/// Command-line flags. Each has the redis.conf setting of the same name.
#[derive(Parser, Debug, Default)]
#[command(
    name = "ferrokv-server",
    version,
    about = "A Redis-compatible in-memory key-value server"
)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long)]
    pub bind: Option<String>,
    /// TCP port (0 picks a free port); default 8006.
    #[arg(long)]
    pub port: Option<u16>,
    /// Most clients connected at once; the open-file limit is raised to fit. Default 10000.
    #[arg(long)]
    pub maxclients: Option<u32>,
    /// Close a client idle this many seconds (0: never).
    #[arg(long)]
    pub timeout: Option<u64>,
    /// Require AUTH with this password.
    #[arg(long)]
    pub requirepass: Option<String>,
    /// Number of databases. Default 16.
    #[arg(long)]
    pub databases: Option<usize>,
    /// debug, verbose, notice or warning. Default notice.
    #[arg(long)]
    pub loglevel: Option<String>,
    /// Write the process id here while running.
    #[arg(long)]
    pub pidfile: Option<String>,
    /// `CLASS HARD SOFT SECONDS` as in redis.conf, e.g. `normal 256mb 0 0`; may be repeated.
    #[arg(long)]
    pub client_output_buffer_limit: Vec<String>,
    /// A redis.conf-style file of `name value` lines; flags given on the command line win.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Working directory: the RDB file is read and written here. Default: the current directory.
    #[arg(long)]
    pub dir: Option<String>,
    /// Name of the RDB file inside `dir`. Default dump.rdb.
    #[arg(long)]
    pub dbfilename: Option<String>,
    /// Save points, `"<seconds> <changes> ..."`; `""` disables saving. May be repeated. Default
    /// `"3600 1 300 100 60 10000"`.
    #[arg(long, allow_hyphen_values = true)]
    pub save: Vec<String>,
}

/// Output buffer limits of one client class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObufLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_secs: u64,
}

pub const OBUF_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

#[derive(Debug, Clone)]
pub struct Config {
    pub repl_ping_replica_period: u64,
    /// Bytes of replication stream kept for replicas that reconnect (at least 16 KB).
    pub repl_backlog_size: u64,
    /// Writes are refused while fewer replicas than this acknowledged within `min_replicas_max_lag`
    /// seconds (0: no such check).
    pub min_replicas_to_write: u32,
    pub min_replicas_max_lag: u64,
    pub bind: String,
    pub port: u16,
    pub maxclients: u32,
    pub timeout: u64,
    pub requirepass: Option<Vec<u8>>,
    pub databases: usize,
    pub loglevel: String,
    pub pidfile: String,
    /// normal, replica, pubsub.
    pub obuf: [ObufLimit; 3],
    pub hz: u32,
    pub proto_max_bulk_len: u64,
    /// A client whose unparsed input passes this many bytes is closed.
    pub client_query_buffer_limit: u64,
    /// Redis's hidden `key-load-delay` (a pause per key loaded from disk): kept for scripts that set it;
    /// this server never loads keys, so there is nothing to delay.
    pub key_load_delay: i64,
    pub maxmemory: u64,
    pub maxmemory_policy: String,
    /// Keys sampled per database to pick the one to evict (LRU, LFU and TTL policies).
    pub maxmemory_samples: u32,
    /// Most keys the client-side caching table remembers (0: no limit).
    pub tracking_table_max_keys: u64,
    /// Effort per eviction call, 0..=100: the time one call may spend evicting (100: no limit).
    pub maxmemory_eviction_tenacity: u32,
    /// Memory all clients together may use before the biggest are closed: bytes, or (negative) a
    /// percentage of maxmemory; 0 for no limit.
    pub maxmemory_clients: i64,
    /// Save points `"<seconds> <changes> ..."`, as Redis words them; empty disables them.
    pub save: String,
    pub appendonly: bool,
    /// The working directory, where the RDB file lives (the process `chdir`s to it, as Redis does).
    pub dir: String,
    /// The RDB file's name inside `dir`.
    pub dbfilename: String,
    /// RDB files and DUMP payloads LZF-compress strings over 20 bytes.
    pub rdbcompression: bool,
    /// RDB files end with a CRC64 that loading checks (0 when off, and loading then skips the check).
    pub rdbchecksum: bool,
    /// Redis's hidden `rdb-key-save-delay`: microseconds a save sleeps per key, so tests can catch a
    /// background save in progress.
    pub rdb_key_save_delay: i64,
    /// With save points set, writes are refused (MISCONF) while the last background save has failed.
    pub stop_writes_on_bgsave_error: bool,
    /// FLUSHALL/FLUSHDB without SYNC or ASYNC free the old data on a background thread.
    pub lazyfree_lazy_user_flush: bool,
    /// Absolute path of the config file the server started with (INFO config_file, CONFIG REWRITE).
    pub config_file: Option<String>,
    /// A sparse HyperLogLog turns dense when it would grow past this many bytes (header included).
    pub hll_sparse_max_bytes: usize,
    /// Sorted sets stay in the flat (listpack) encoding up to this many members...
    pub zset_max_listpack_entries: usize,
    /// A stream node (listpack) closes once it would reach this many bytes (0: no limit)...
    pub stream_node_max_bytes: usize,
    /// ...or holds this many entries, deleted ones included (0: no limit).
    pub stream_node_max_entries: u64,
    /// ...of at most this many bytes each.
    pub zset_max_listpack_value: usize,
    /// A hash converts from listpack to hashtable past this many fields...
    pub hash_max_listpack_entries: usize,
    /// ...or when a field or value is longer than this.
    pub hash_max_listpack_value: usize,
    /// A set converts from intset to hashtable past this many members.
    pub set_max_intset_entries: usize,
    /// Redis's quicklist node size (entries when positive, -1..-5 for 4..64 KB); stored and reported only,
    /// since a Redis 7.0 list is a quicklist whatever it holds.
    pub list_max_listpack_size: i64,
    /// Quicklist nodes left uncompressed at each end; stored and reported only.
    pub list_compress_depth: i64,
    /// Keyspace notification classes (`notify-keyspace-events`), as `cmd::notify` flags; 0 is off.
    pub notify_keyspace_events: u32,
    /// LFU counter growth and decay (mirrored into `store::db`, which reads them on every access).
    pub lfu_log_factor: u64,
    pub lfu_decay_time: u64,
    /// Commands taking at least this many microseconds go to the slow log (negative: none, 0: all).
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: u64,
    /// Milliseconds a script may run before it is aborted (Redis: before it answers BUSY to others).
    pub busy_reply_threshold: u64,
    /// Milliseconds from which the latency monitor records an event (0: off).
    pub latency_monitor_threshold: u64,
    /// Per-command latency histograms (INFO latencystats, LATENCY HISTOGRAM).
    pub latency_tracking: bool,
    pub latency_tracking_info_percentiles: Vec<f64>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            repl_ping_replica_period: 10,
            repl_backlog_size: 1 << 20,
            min_replicas_to_write: 0,
            min_replicas_max_lag: 10,
            bind: "127.0.0.1".into(),
            port: 8006,
            maxclients: 10000,
            timeout: 0,
            requirepass: None,
            databases: 16,
            loglevel: "notice".into(),
            pidfile: String::new(),
            // Unlike Redis (normal clients unlimited), a hard 256 MB so a client that never reads cannot eat
            // the server.
            obuf: [
                ObufLimit {
                    hard: 256 << 20,
                    soft: 0,
                    soft_secs: 0,
                },
                ObufLimit {
                    hard: 256 << 20,
                    soft: 64 << 20,
                    soft_secs: 60,
                },
                ObufLimit {
                    hard: 32 << 20,
                    soft: 8 << 20,
                    soft_secs: 60,
                },
            ],
            hz: 10,
            proto_max_bulk_len: 512 << 20,
            client_query_buffer_limit: 1 << 30,
            key_load_delay: 0,
            maxmemory: 0,
            maxmemory_policy: "noeviction".into(),
            maxmemory_samples: 5,
            tracking_table_max_keys: 1_000_000,
            maxmemory_eviction_tenacity: 10,
            maxmemory_clients: 0,
            // Redis 7.0's built-in save points, used when no config file says otherwise.
            save: "3600 1 300 100 60 10000".into(),
            appendonly: false,
            dir: std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "/".into()),
            dbfilename: "dump.rdb".into(),
            rdbcompression: true,
            rdbchecksum: true,
            rdb_key_save_delay: 0,
            stop_writes_on_bgsave_error: true,
            lazyfree_lazy_user_flush: false,
            config_file: None,
            hll_sparse_max_bytes: 3000,
            zset_max_listpack_entries: 128,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,
            zset_max_listpack_value: 64,
            // Redis 7.0's built-in defaults (its sample redis.conf lowers the first to 128).
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            notify_keyspace_events: 0,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            slowlog_log_slower_than: 10000,
            slowlog_max_len: 128,
            busy_reply_threshold: 5000,
            latency_monitor_threshold: 0,
            latency_tracking: true,
            latency_tracking_info_percentiles: vec![50.0, 99.0, 99.9],
        }
    }
}

/// Whether CONFIG SET may change a setting at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Mutable,
    /// Fixed once the server runs (startup flags and config files only).
    Immutable,
    /// Redis 7.0's `enable-protected-configs no`: refused at run time, like `dir`.
    Protected,
}

/// A named setting: how CONFIG GET shows it and how CONFIG SET (or a config file) changes it. `set` both
/// validates and stores; an error is the text after Redis's `CONFIG SET failed (...) - `.
pub struct Param {
    pub name: &'static str,
    pub access: Access,
    pub get: fn(&Config) -> String,
    pub set: fn(&mut Config, &str) -> Result<(), String>,
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

fn parse_yes_no(v: &str) -> Result<bool, String> {
    if v.eq_ignore_ascii_case("yes") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("no") {
        Ok(false)
    } else {
        Err("argument must be 'yes' or 'no'".into())
    }
}

/// Parses a memory amount exactly as Redis's `memtoull`: decimal digits, then an optional unit `b`, `k`
/// (1000), `kb` (1024), `m`, `mb`, `g`, `gb`, case-insensitive. Like C's `strtoull`, no digits reads as 0
/// and too many saturate; the multiplication wraps as Redis's does.
pub fn parse_memory(v: &str) -> Option<u64> {
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    let mul: u64 = match v[digits..].to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1 << 10,
        "m" => 1_000_000,
        "mb" => 1 << 20,
        "g" => 1_000_000_000,
        "gb" => 1 << 30,
        _ => return None,
    };
    if digits >= 128 {
        return None;
    }
    let n = match &v[..digits] {
        "" => 0,
        d => d.parse::<u64>().unwrap_or(u64::MAX),
    };
    Some(n.wrapping_mul(mul))
}

/// A plain integer setting (Redis's `string2ll`), within `min..=max`.
fn parse_int(v: &str, min: i64, max: i64) -> Result<i64, String> {
    let n = crate::util::parse_i64(v.as_bytes())
        .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
    if n < min || n > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n)
}

/// A memory setting, within `min..=max`.
fn parse_mem(v: &str, min: u64, max: u64) -> Result<u64, String> {
    let n = parse_memory(v).ok_or_else(|| "argument must be a memory value".to_string())?;
    if n < min || n > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n)
}

/// A memory amount or a percentage (`10%`, stored negative), as Redis parses maxmemory-clients.
fn parse_mem_or_percent(v: &str) -> Result<i64, String> {
    let n = match parse_memory(v) {
        Some(n) => n as i64,
        None => {
            let pct = v
                .strip_suffix('%')
                .filter(|p| !p.is_empty())
                .and_then(|p| crate::util::parse_i64(p.as_bytes()))
                .filter(|&p| p >= 0)
                .ok_or_else(|| "argument must be a memory or percent value".to_string())?;
            -pct
        }
    };
    if n < -100 {
        return Err("percentage argument must be less or equal to 100".into());
    }
    Ok(n)
}

fn parse_enum(v: &str, names: &[&str]) -> Result<String, String> {
    names
        .iter()
        .find(|n| n.eq_ignore_ascii_case(v))
        .map(|n| n.to_string())
        .ok_or_else(|| {
            format!(
                "argument(s) must be one of the following: {}",
                names.join(", ")
            )
        })
}

const LOG_LEVELS: &[&str] = &["debug", "verbose", "notice", "warning"];

const MAXMEMORY_POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

fn parse_obuf(cfg: &mut Config, v: &str) -> Result<(), String> {
    let words =
        conf_words(v).map_err(|_| "Wrong number of arguments in buffer limit configuration.")?;
    if words.is_empty() || words.len() % 4 != 0 {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut next = cfg.obuf;
    for w in words.chunks(4) {
        let class = match w[0].to_ascii_lowercase().as_str() {
            "normal" => 0,
            "slave" | "replica" => 1,
            "pubsub" => 2,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let secs = crate::util::parse_i64(w[3].as_bytes());
        let (Some(hard), Some(soft), Some(secs)) = (parse_memory(&w[1]), parse_memory(&w[2]), secs)
        else {
            return Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into(),
            );
        };
        if secs < 0 {
            return Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into(),
            );
        }
        next[class] = ObufLimit {
            hard,
            soft,
            soft_secs: secs as u64,
        };
    }
    cfg.obuf = next;
    Ok(())
}

/// `save "<seconds> <changes> ..."`: pairs of integers split on single spaces, seconds at least 1 and
/// changes at least 0, as Redis 7.0 checks them; cron saves in the background when one pair is met.
fn parse_save(cfg: &mut Config, v: &str) -> Result<(), String> {
    if v.is_empty() {
        cfg.save.clear();
        return Ok(());
    }
    let words: Vec<&str> = v.split(' ').collect();
    let ok = words.len().is_multiple_of(2)
        && words.iter().enumerate().all(|(i, w)| {
            let min = if i % 2 == 0 { 1 } else { 0 };
            !w.is_empty() && w.parse::<i64>().is_ok_and(|n| n >= min)
        });
    if !ok {
        return Err("Invalid save parameters".into());
    }
    cfg.save = words.join(" ");
    Ok(())
}

/// Every setting the server has, in CONFIG GET order. Changing `bind` or `port` at run time replaces the
/// listening sockets (CONFIG SET does it once the values are set).
/// A parameter that is one `Config` field: printed with `to_string` (or yes/no), parsed by the named
/// parser within the given bounds and cast to the field's type.
macro_rules! field {
    ($name:literal, $access:ident, $field:ident, yes_no) => {
        Param {
            name: $name,
            access: Access::$access,
            get: |c| yes_no(c.$field),
            set: |c, v| {
                c.$field = parse_yes_no(v)?;
                Ok(())
            },
        }
    };
    ($name:literal, $access:ident, $field:ident, $parse:ident($min:expr, $max:expr)) => {
        Param {
            name: $name,
            access: Access::$access,
            get: |c| c.$field.to_string(),
            set: |c, v| {
                c.$field = field!(@parse $parse, v, $min, $max) as _;
                Ok(())
            },
        }
    };
    (@parse int, $v:expr, $min:expr, $max:expr) => {
        parse_int($v, $min, $max)?
    };
    (@parse mem, $v:expr, $min:expr, $max:expr) => {
        parse_mem($v, $min, $max)?
    };
}

pub static PARAMS: &[Param] = &[
    Param {
        name: "bind",
        access: Access::Mutable,
        get: |c| c.bind.clone(),
        set: |c, v| {
            // Space-separated addresses, as Redis splits a multi-argument setting.
            let words: Vec<&str> = v.split(' ').filter(|w| !w.is_empty()).collect();
            if words.len() > crate::server::listen::MAX_ADDRS {
                return Err("Too many bind addresses specified.".into());
            }
            c.bind = words.join(" ");
            Ok(())
        },
    },
    Param {
        name: "port",
        access: Access::Mutable,
        get: |c| c.port.to_string(),
        set: |c, v| {
            c.port = parse_int(v, 0, 65535)? as u16;
            Ok(())
        },
    },
    field!("maxclients", Mutable, maxclients, int(1, u32::MAX as i64)),
    field!("timeout", Mutable, timeout, int(0, i32::MAX as i64)),
    Param {
        name: "requirepass",
        access: Access::Mutable,
        get: |c| {
            c.requirepass
                .as_deref()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default()
        },
        set: |c, v| {
            c.requirepass = (!v.is_empty()).then(|| v.as_bytes().to_vec());
            Ok(())
        },
    },
    field!("databases", Immutable, databases, int(1, i32::MAX as i64)),
    Param {
        name: "loglevel",
        access: Access::Mutable,
        get: |c| c.loglevel.clone(),
        set: |c, v| {
            let l = parse_enum(v, LOG_LEVELS)?;
            if let Some(f) = level_filter(&l) {
                log::set_max_level(f);
            }
            c.loglevel = l;
            Ok(())
        },
    },
    Param {
        name: "pidfile",
        access: Access::Immutable,
        get: |c| c.pidfile.clone(),
        set: |c, v| {
            c.pidfile = v.to_string();
            Ok(())
        },
    },
    Param {
        name: "client-output-buffer-limit",
        access: Access::Mutable,
        get: |c| {
            OBUF_CLASSES
                .iter()
                .zip(c.obuf.iter())
                .map(|(n, l)| format!("{n} {} {} {}", l.hard, l.soft, l.soft_secs))
                .collect::<Vec<_>>()
                .join(" ")
        },
        set: parse_obuf,
    },
    Param {
        name: "hz",
        access: Access::Mutable,
        get: |c| c.hz.to_string(),
        set: |c, v| {
            // Accepted up to INT_MAX, then clamped to 1..=500 as Redis's updateHZ does.
            c.hz = parse_int(v, 0, i32::MAX as i64)?.clamp(1, 500) as u32;
            Ok(())
        },
    },
    Param {
        name: "proto-max-bulk-len",
        access: Access::Mutable,
        get: |c| c.proto_max_bulk_len.to_string(),
        set: |c, v| {
            c.proto_max_bulk_len = parse_mem(v, 1 << 20, i64::MAX as u64)?;
            Ok(())
        },
    },
    field!(
        "client-query-buffer-limit",
        Mutable,
        client_query_buffer_limit,
        mem(1 << 20, i64::MAX as u64)
    ),
    field!("maxmemory", Mutable, maxmemory, mem(0, u64::MAX)),
    Param {
        name: "maxmemory-policy",
        access: Access::Mutable,
        get: |c| c.maxmemory_policy.clone(),
        set: |c, v| {
            c.maxmemory_policy = parse_enum(v, MAXMEMORY_POLICIES)?;
            crate::store::db::set_lfu(c.maxmemory_policy.ends_with("-lfu"));
            Ok(())
        },
    },
    Param {
        name: "lfu-log-factor",
        access: Access::Mutable,
        get: |c| c.lfu_log_factor.to_string(),
        set: |c, v| {
            c.lfu_log_factor = parse_int(v, 0, i32::MAX as i64)? as u64;
            crate::store::db::set_lfu_log_factor(c.lfu_log_factor);
            Ok(())
        },
    },
    Param {
        name: "lfu-decay-time",
        access: Access::Mutable,
        get: |c| c.lfu_decay_time.to_string(),
        set: |c, v| {
            c.lfu_decay_time = parse_int(v, 0, i32::MAX as i64)? as u64;
            crate::store::db::set_lfu_decay_time(c.lfu_decay_time);
            Ok(())
        },
    },
    field!(
        "tracking-table-max-keys",
        Mutable,
        tracking_table_max_keys,
        int(0, i64::MAX)
    ),
    field!(
        "maxmemory-samples",
        Mutable,
        maxmemory_samples,
        int(1, i32::MAX as i64)
    ),
    field!(
        "maxmemory-eviction-tenacity",
        Mutable,
        maxmemory_eviction_tenacity,
        int(0, 100)
    ),
    Param {
        name: "maxmemory-clients",
        access: Access::Mutable,
        get: |c| match c.maxmemory_clients {
            n if n < 0 => format!("{}%", -n),
            n => n.to_string(),
        },
        set: |c, v| {
            c.maxmemory_clients = parse_mem_or_percent(v)?;
            Ok(())
        },
    },
    Param {
        name: "save",
        access: Access::Mutable,
        get: |c| c.save.clone(),
        set: parse_save,
    },
    Param {
        name: "appendonly",
        access: Access::Mutable,
        get: |c| yes_no(c.appendonly),
        set: |c, v| {
            if parse_yes_no(v)? {
                return Err("this server has no persistence: appendonly can only be 'no'".into());
            }
            c.appendonly = false;
            Ok(())
        },
    },
    Param {
        name: "dir",
        access: Access::Protected,
        get: |c| c.dir.clone(),
        set: |c, v| {
            std::env::set_current_dir(v).map_err(|e| strerror(&e))?;
            c.dir = std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| v.to_string());
            Ok(())
        },
    },
    Param {
        name: "dbfilename",
        access: Access::Protected,
        get: |c| c.dbfilename.clone(),
        set: |c, v| {
            if v.contains('/') {
                return Err("dbfilename can't be a path, just a filename".into());
            }
            c.dbfilename = v.to_string();
            Ok(())
        },
    },
    Param {
        name: "rdbcompression",
        access: Access::Mutable,
        get: |c| yes_no(c.rdbcompression),
        set: |c, v| {
            c.rdbcompression = parse_yes_no(v)?;
            crate::store::rdb::COMPRESS
                .store(c.rdbcompression, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        },
    },
    field!("rdbchecksum", Immutable, rdbchecksum, yes_no),
    field!(
        "stop-writes-on-bgsave-error",
        Mutable,
        stop_writes_on_bgsave_error,
        yes_no
    ),
    field!(
        "rdb-key-save-delay",
        Mutable,
        rdb_key_save_delay,
        int(i32::MIN as i64, i32::MAX as i64)
    ),
    Param {
        // Kept for tools that tune it before reading the replication stream; replicas get no PINGs.
        name: "repl-ping-replica-period",
        access: Access::Mutable,
        get: |c| c.repl_ping_replica_period.to_string(),
        set: |c, v| {
            c.repl_ping_replica_period = parse_int(v, 1, i32::MAX as i64)? as u64;
            Ok(())
        },
    },
    field!(
        "repl-ping-slave-period",
        Mutable,
        repl_ping_replica_period,
        int(1, i32::MAX as i64)
    ),
    Param {
        name: "repl-backlog-size",
        access: Access::Mutable,
        get: |c| c.repl_backlog_size.to_string(),
        set: |c, v| {
            // Redis raises a smaller size to its minimum when it applies it.
            c.repl_backlog_size =
                parse_mem(v, 1, i64::MAX as u64)?.max(crate::cmd::repl::BACKLOG_MIN);
            Ok(())
        },
    },
    Param {
        name: "min-replicas-to-write",
        access: Access::Mutable,
        get: |c| c.min_replicas_to_write.to_string(),
        set: |c, v| {
            c.min_replicas_to_write = parse_int(v, 0, i32::MAX as i64)? as u32;
            Ok(())
        },
    },
    field!(
        "min-slaves-to-write",
        Mutable,
        min_replicas_to_write,
        int(0, i32::MAX as i64)
    ),
    field!(
        "min-replicas-max-lag",
        Mutable,
        min_replicas_max_lag,
        int(0, i32::MAX as i64)
    ),
    field!(
        "min-slaves-max-lag",
        Mutable,
        min_replicas_max_lag,
        int(0, i32::MAX as i64)
    ),
    Param {
        name: "notify-keyspace-events",
        access: Access::Mutable,
        get: |c| crate::cmd::notify::render_flags(c.notify_keyspace_events),
        set: |c, v| {
            let flags = crate::cmd::notify::parse_flags(v)
                .ok_or_else(|| crate::cmd::notify::ERR_CLASS.to_string())?;
            c.notify_keyspace_events = flags;
            // The databases log what only they see (expired and added keys) while those classes are on.
            crate::cmd::notify::apply_flags(flags);
            Ok(())
        },
    },
    Param {
        name: "lazyfree-lazy-user-flush",
        access: Access::Mutable,
        get: |c| yes_no(c.lazyfree_lazy_user_flush),
        set: |c, v| {
            c.lazyfree_lazy_user_flush = parse_yes_no(v)?;
            Ok(())
        },
    },
    field!(
        "hll-sparse-max-bytes",
        Mutable,
        hll_sparse_max_bytes,
        mem(0, i64::MAX as u64)
    ),
    field!(
        "stream-node-max-bytes",
        Mutable,
        stream_node_max_bytes,
        mem(0, i64::MAX as u64)
    ),
    field!(
        "stream-node-max-entries",
        Mutable,
        stream_node_max_entries,
        int(0, i64::MAX)
    ),
    field!(
        "zset-max-listpack-entries",
        Mutable,
        zset_max_listpack_entries,
        int(0, i64::MAX)
    ),
    field!(
        "zset-max-ziplist-entries",
        Mutable,
        zset_max_listpack_entries,
        int(0, i64::MAX)
    ),
    field!(
        "zset-max-listpack-value",
        Mutable,
        zset_max_listpack_value,
        mem(0, i64::MAX as u64)
    ),
    field!(
        "zset-max-ziplist-value",
        Mutable,
        zset_max_listpack_value,
        mem(0, i64::MAX as u64)
    ),
    field!(
        "hash-max-listpack-entries",
        Mutable,
        hash_max_listpack_entries,
        int(0, i64::MAX)
    ),
    field!(
        "hash-max-ziplist-entries",
        Mutable,
        hash_max_listpack_entries,
        int(0, i64::MAX)
    ),
    field!(
        "hash-max-listpack-value",
        Mutable,
        hash_max_listpack_value,
        mem(0, i64::MAX as u64)
    ),
    field!(
        "hash-max-ziplist-value",
        Mutable,
        hash_max_listpack_value,
        mem(0, i64::MAX as u64)
    ),
    field!(
        "set-max-intset-entries",
        Mutable,
        set_max_intset_entries,
        int(0, i64::MAX)
    ),
    field!(
        "list-max-listpack-size",
        Mutable,
        list_max_listpack_size,
        int(i32::MIN as i64, i32::MAX as i64)
    ),
    field!(
        "list-max-ziplist-size",
        Mutable,
        list_max_listpack_size,
        int(i32::MIN as i64, i32::MAX as i64)
    ),
    field!(
        "list-compress-depth",
        Mutable,
        list_compress_depth,
        int(0, i32::MAX as i64)
    ),
    Param {
        name: "daemonize",
        access: Access::Immutable,
        get: |_| "no".into(),
        set: |_, v| {
            if parse_yes_no(v)? {
                return Err("this server does not daemonize: run it under a supervisor".into());
            }
            Ok(())
        },
    },
    Param {
        name: "io-threads",
        access: Access::Immutable,
        get: |_| "1".into(),
        set: |_, v| {
            if parse_int(v, 1, 128)? != 1 {
                return Err("this server serves every client on one thread".into());
            }
            Ok(())
        },
    },
    Param {
        name: "enable-debug-command",
        access: Access::Immutable,
        get: |_| "yes".into(),
        set: |_, v| match parse_enum(v, &["no", "yes", "local"])?.as_str() {
            "yes" => Ok(()),
            _ => Err("this server always allows DEBUG".into()),
        },
    },
    Param {
        name: "enable-protected-configs",
        access: Access::Immutable,
        get: |_| "no".into(),
        set: |_, v| match parse_enum(v, &["no", "yes", "local"])?.as_str() {
            "no" => Ok(()),
            _ => Err("this server never changes protected configs at run time".into()),
        },
    },
    Param {
        // Never a replica: the value is always empty, and only `no one` is accepted at startup.
        name: "replicaof",
        access: Access::Immutable,
        get: |_| String::new(),
        set: set_replicaof,
    },
    Param {
        name: "slaveof",
        access: Access::Immutable,
        get: |_| String::new(),
        set: set_replicaof,
    },
    field!(
        "busy-reply-threshold",
        Mutable,
        busy_reply_threshold,
        int(0, i64::MAX)
    ),
    field!(
        "lua-time-limit",
        Mutable,
        busy_reply_threshold,
        int(0, i64::MAX)
    ),
    field!(
        "slowlog-max-len",
        Mutable,
        slowlog_max_len,
        int(0, i64::MAX)
    ),
    field!(
        "slowlog-log-slower-than",
        Mutable,
        slowlog_log_slower_than,
        int(-1, i64::MAX)
    ),
    field!("latency-tracking", Mutable, latency_tracking, yes_no),
    field!(
        "latency-monitor-threshold",
        Mutable,
        latency_monitor_threshold,
        int(0, i64::MAX)
    ),
    Param {
        name: "latency-tracking-info-percentiles",
        access: Access::Mutable,
        get: |c| crate::cmd::slowlog::render_percentiles(&c.latency_tracking_info_percentiles),
        set: |c, v| {
            c.latency_tracking_info_percentiles = crate::cmd::slowlog::parse_percentiles(v)?;
            Ok(())
        },
    },
    field!(
        "key-load-delay",
        Mutable,
        key_load_delay,
        int(i32::MIN as i64, i32::MAX as i64)
    ),
];

/// Settings CONFIG GET shows only when asked for by name, never through a pattern (Redis's hidden
/// settings, meant for tests).
pub const HIDDEN: &[&str] = &["key-load-delay"];

/// `replicaof`: this server has no replica mode, so only `no one` (or nothing) is accepted.
fn set_replicaof(_: &mut Config, v: &str) -> Result<(), String> {
    if v.is_empty() || v.eq_ignore_ascii_case("no one") {
        Ok(())
    } else {
        Err("this server cannot replicate from a master".into())
    }
}

/// An I/O error's text without Rust's ` (os error N)` suffix, as C's `strerror` gives it.
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Old names kept as settings of their own, sharing their storage with the new one, as in Redis 7.0 (which
/// lists both in CONFIG GET and sets either); CONFIG REWRITE writes only the new name.
pub const ALIASES: &[&str] = &[
    "slaveof",
    "repl-ping-slave-period",
    "min-slaves-to-write",
    "min-slaves-max-lag",
    "zset-max-ziplist-entries",
    "zset-max-ziplist-value",
    "hash-max-ziplist-entries",
    "hash-max-ziplist-value",
];

/// The parameter called `name` (case-insensitive).
pub fn find_param(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Quotes a value for a config file when the plain form would not read back as one word.
fn conf_quote(v: &str) -> String {
    let plain = !v.is_empty()
        && v.bytes()
            .all(|c| c.is_ascii_graphic() && c != b'"' && c != b'\'' && c != b'\\');
    if plain {
        return v.to_string();
    }
    let mut s = String::from("\"");
    for c in v.bytes() {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            c if c.is_ascii_graphic() || c == b' ' => s.push(c as char),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}

/// One `name value` line as CONFIG REWRITE writes it. Multi-word settings are written as words.
fn conf_line(cfg: &Config, p: &Param) -> String {
    let v = (p.get)(cfg);
    let multi = matches!(
        p.name,
        "save" | "client-output-buffer-limit" | "bind" | "latency-tracking-info-percentiles"
    );
    if multi && !v.is_empty() {
        format!("{} {v}\n", p.name)
    } else {
        format!("{} {}\n", p.name, conf_quote(&v))
    }
}

impl Config {
    /// CONFIG SET of several `name value` pairs, all or nothing, as Redis 7.0 does it: every name is
    /// checked first (unknown, immutable, protected, duplicate; the first problem wins), then the values
    /// are set in order, and `post` runs for each param once all are set (side effects that can fail,
    /// like raising the open-file limit). On any failure every setting gets its old value back. The error
    /// is the reply text without the `ERR ` prefix.
    pub fn set_many(
        &mut self,
        pairs: &[(String, String)],
        mut post: impl FnMut(&Config, &'static Param) -> Result<(), String>,
    ) -> Result<(), String> {
        let mut params: Vec<&'static Param> = Vec::with_capacity(pairs.len());
        for (name, _) in pairs {
            let Some(p) = find_param(name) else {
                return Err(format!(
                    "Unknown option or number of arguments for CONFIG SET - '{name}'"
                ));
            };
            let why = match p.access {
                Access::Immutable => Some("can't set immutable config"),
                Access::Protected => Some("can't set protected config"),
                Access::Mutable if params.iter().any(|q| std::ptr::eq(*q, p)) => {
                    Some("duplicate parameter")
                }
                Access::Mutable => None,
            };
            if let Some(why) = why {
                return Err(format!(
                    "CONFIG SET failed (possibly related to argument '{name}') - {why}"
                ));
            }
            params.push(p);
        }
        let old: Vec<String> = params.iter().map(|p| (p.get)(self)).collect();
        let restore = |cfg: &mut Config| {
            for (p, v) in params.iter().zip(&old) {
                let _ = (p.set)(cfg, v);
            }
        };
        for (p, (_, v)) in params.iter().zip(pairs) {
            if let Err(e) = (p.set)(self, v) {
                restore(self);
                return Err(format!(
                    "CONFIG SET failed (possibly related to argument '{}') - {e}",
                    p.name
                ));
            }
        }
        for p in &params {
            if let Err(e) = post(self, p) {
                restore(self);
                return Err(format!(
                    "CONFIG SET failed (possibly related to argument '{}') - {e}",
                    p.name
                ));
            }
        }
        Ok(())
    }

    /// CONFIG REWRITE: rewrites the config file in place of its old settings, keeping comments and
    /// unknown lines, and appends the settings that differ from the defaults. The error is the reply text
    /// without the `ERR ` prefix.
    pub fn rewrite(&self) -> Result<(), String> {
        let Some(path) = &self.config_file else {
            return Err("The server is running without a config file".into());
        };
        let old = match std::fs::read_to_string(path) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("Rewriting config file: {}", strerror(&e))),
        };
        let defaults = Config::default();
        let mut done = vec![false; PARAMS.len()];
        let mut out = String::with_capacity(old.len() + 256);
        for line in old.lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            let known = (!name.starts_with('#'))
                .then(|| {
                    PARAMS
                        .iter()
                        .position(|p| p.name.eq_ignore_ascii_case(name))
                })
                .flatten();
            match known {
                Some(i) => {
                    if !done[i] {
                        out.push_str(&conf_line(self, &PARAMS[i]));
                        done[i] = true;
                    }
                }
                None => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        let mut header = false;
        for (i, p) in PARAMS.iter().enumerate() {
            if done[i] || ALIASES.contains(&p.name) || (p.get)(self) == (p.get)(&defaults) {
                continue;
            }
            if !header {
                out.push_str("# Generated by CONFIG REWRITE\n");
                header = true;
            }
            out.push_str(&conf_line(self, p));
        }
        let tmp = format!("{path}.rewrite-{}", std::process::id());
        std::fs::write(&tmp, out)
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                format!("Rewriting config file: {}", strerror(&e))
            })
    }
}

/// Redis's log level names mapped onto `log`'s levels.
pub fn level_filter(name: &str) -> Option<log::LevelFilter> {
    Some(match name {
        "debug" => log::LevelFilter::Trace,
        "verbose" => log::LevelFilter::Debug,
        "notice" => log::LevelFilter::Info,
        "warning" => log::LevelFilter::Warn,
        "nothing" => log::LevelFilter::Off,
        _ => return None,
    })
}

/// Splits a redis.conf line into words, honouring double and single quotes.
fn conf_words(line: &str) -> Result<Vec<String>, String> {
    let mut args = Vec::new();
    let mut scratch = Vec::new();
    crate::protocol::parse::split_args(line.as_bytes(), &mut args, &mut scratch)
        .map_err(|_| "unbalanced quotes".to_string())
        .map(|copied| {
            let src = if copied {
                &scratch[..]
            } else {
                line.as_bytes()
            };
            args.iter()
                .map(|&(a, b)| String::from_utf8_lossy(&src[a..b]).into_owned())
                .collect()
        })
}

impl Config {
    /// Builds the configuration: defaults, then the config file, then the flags.
    pub fn from_cli(cli: &Cli) -> Result<Config, String> {
        let mut cfg = Config::default();
        if let Some(path) = &cli.config {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
            cfg.apply_file(&text)?;
            let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
            cfg.config_file = Some(abs.display().to_string());
        }
        let mut set = |name: &str, v: String| cfg.apply(name, &v);
        if let Some(v) = &cli.bind {
            set("bind", v.clone())?;
        }
        if let Some(v) = cli.port {
            set("port", v.to_string())?;
        }
        if let Some(v) = cli.maxclients {
            set("maxclients", v.to_string())?;
        }
        if let Some(v) = cli.timeout {
            set("timeout", v.to_string())?;
        }
        if let Some(v) = &cli.requirepass {
            set("requirepass", v.clone())?;
        }
        if let Some(v) = cli.databases {
            set("databases", v.to_string())?;
        }
        if let Some(v) = &cli.loglevel {
            set("loglevel", v.clone())?;
        }
        if let Some(v) = &cli.pidfile {
            set("pidfile", v.clone())?;
        }
        for v in &cli.client_output_buffer_limit {
            set("client-output-buffer-limit", v.clone())?;
        }
        if let Some(v) = &cli.dir {
            set("dir", v.clone())?;
        }
        if let Some(v) = &cli.dbfilename {
            set("dbfilename", v.clone())?;
        }
        if !cli.save.is_empty() {
            // Like repeated `save` lines: they add up, and an empty one alone disables saving.
            let all: Vec<&str> = cli
                .save
                .iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .collect();
            set("save", all.join(" "))?;
        }
        Ok(cfg)
    }

    /// Applies `name value...` lines; `#` starts a comment.
    pub fn apply_file(&mut self, text: &str) -> Result<(), String> {
        let mut seen_save = false;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words = conf_words(line).map_err(|e| format!("config line {}: {e}", n + 1))?;
            let Some((name, vals)) = words.split_first() else {
                continue;
            };
            let mut value = vals.join(" ");
            if name.eq_ignore_ascii_case("save") {
                // As in Redis, `save` lines add up: the first replaces the defaults, the next ones append
                // (`save 900 1` then `save 300 10`), and `save ""` clears.
                if seen_save && !value.is_empty() {
                    value = format!("{} {value}", self.save).trim().to_string();
                }
                seen_save = true;
            }
            self.apply(name, &value)
                .map_err(|e| format!("config line {}: {name}: {e}", n + 1))?;
        }
        Ok(())
    }

    /// Sets one parameter by name, at startup (immutable ones included).
    pub fn apply(&mut self, name: &str, value: &str) -> Result<(), String> {
        let p = find_param(name).ok_or_else(|| format!("unknown setting '{name}'"))?;
        (p.set)(self, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_lines_add_up() {
        let mut c = Config::default();
        c.apply_file("save 900 1\nsave 300 10\n").unwrap();
        assert_eq!(c.save, "900 1 300 10");
        c.apply_file("save \"\"\n").unwrap();
        assert_eq!(c.save, "");
        c.apply_file("hz 10\n").unwrap();
        assert_eq!(c.save, "");
        assert!(c.apply_file("save 0 1\n").is_err());
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("256mb"), Some(256 << 20));
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("1KB"), Some(1024));
        assert_eq!(parse_memory("0"), Some(0));
        assert_eq!(parse_memory("-1"), None);
        assert_eq!(parse_memory("x"), None);
        // memtoull's C quirks: no digits read as 0, overflow saturates.
        assert_eq!(parse_memory(""), Some(0));
        assert_eq!(parse_memory("kb"), Some(0));
        assert_eq!(parse_memory("99999999999999999999"), Some(u64::MAX));
        assert_eq!(parse_memory("1.5mb"), None);
    }

    fn pairs(kv: &[(&str, &str)]) -> Vec<(String, String)> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn set_many_is_all_or_nothing() {
        let mut c = Config::default();
        let ok = |_: &Config, _: &'static Param| Ok(());
        let e = c
            .set_many(&pairs(&[("hz", "20"), ("maxmemory", "abc")]), ok)
            .unwrap_err();
        assert_eq!(
            e,
            "CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
        );
        assert_eq!(c.hz, 10);
        let e = c
            .set_many(&pairs(&[("timeout", "5"), ("maxclients", "7")]), |_, p| {
                if p.name == "maxclients" {
                    Err("no".into())
                } else {
                    Ok(())
                }
            })
            .unwrap_err();
        assert!(e.ends_with("argument 'maxclients') - no"), "{e}");
        assert_eq!((c.timeout, c.maxclients), (0, 10000));
        assert_eq!(
            c.set_many(&pairs(&[("Daemonize", "no"), ("nosuch", "1")]), ok)
                .unwrap_err(),
            "CONFIG SET failed (possibly related to argument 'Daemonize') - can't set immutable config"
        );
        assert_eq!(
            c.set_many(&pairs(&[("nosuch", "1"), ("port", "1")]), ok)
                .unwrap_err(),
            "Unknown option or number of arguments for CONFIG SET - 'nosuch'"
        );
        assert!(c
            .set_many(&pairs(&[("dir", "/")]), ok)
            .unwrap_err()
            .ends_with("can't set protected config"));
        c.set_many(&pairs(&[("hz", "20"), ("save", "60 1")]), ok)
            .unwrap();
        assert_eq!((c.hz, c.save.as_str()), (20, "60 1"));
    }

    #[test]
    fn rewrite_keeps_comments_and_appends_changes() {
        let path =
            std::env::temp_dir().join(format!("ferrokv-rewrite-{}.conf", std::process::id()));
        std::fs::write(&path, "# keep me\nhz 15\nhz 16\nunknown-thing 1\n").unwrap();
        let mut c = Config {
            config_file: Some(path.display().to_string()),
            ..Config::default()
        };
        c.hz = 30;
        c.requirepass = Some(b"p w".to_vec());
        c.zset_max_listpack_entries = 10;
        c.rewrite().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "# keep me\nhz 30\nunknown-thing 1\n# Generated by CONFIG REWRITE\nrequirepass \"p w\"\nzset-max-listpack-entries 10\n"
        );
        let mut back = Config::default();
        back.apply_file(&text.replace("unknown-thing 1\n", ""))
            .unwrap();
        assert_eq!(back.requirepass.as_deref(), Some(&b"p w"[..]));
        let _ = std::fs::remove_file(&path);
        assert_eq!(
            Config::default().rewrite().unwrap_err(),
            "The server is running without a config file"
        );
    }

    #[test]
    fn config_file_and_obuf() {
        let mut c = Config::default();
        c.apply_file(
            "# comment\nport 7000\nclient-output-buffer-limit normal 1mb 0 0\ntimeout 5\n",
        )
        .unwrap();
        assert_eq!(c.port, 7000);
        assert_eq!(c.timeout, 5);
        assert_eq!(c.obuf[0].hard, 1 << 20);
        assert!(c.apply_file("nosuch 1").is_err());
        assert_eq!(
            (find_param("client-output-buffer-limit").unwrap().get)(&c),
            format!("normal 1048576 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")
        );
    }
}
