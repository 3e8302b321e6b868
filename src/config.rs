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
    pub maxmemory: u64,
    pub maxmemory_policy: String,
    pub save: String,
    pub appendonly: bool,
    pub dir: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
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
            maxmemory: 0,
            maxmemory_policy: "noeviction".into(),
            save: String::new(),
            appendonly: false,
            dir: std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "/".into()),
        }
    }
}

/// A named setting: how CONFIG GET shows it and how CONFIG SET (or a config file) changes it.
pub struct Param {
    pub name: &'static str,
    /// Settable at run time with CONFIG SET.
    pub mutable: bool,
    pub get: fn(&Config) -> String,
    pub set: fn(&mut Config, &str) -> Result<(), String>,
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

fn parse_yes_no(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

/// Parses Redis memory units: `100`, `1k` (1000), `1kb` (1024), `mb`, `gb`, case-insensitive.
pub fn parse_memory(v: &str) -> Option<u64> {
    let l = v.to_ascii_lowercase();
    let (num, mul) = [
        ("gb", 1u64 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(s, m)| l.strip_suffix(s).map(|n| (n.to_string(), *m)))
    .unwrap_or((l.clone(), 1));
    if num.is_empty() || !num.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    num.parse::<u64>().ok()?.checked_mul(mul)
}

fn parse_int<T: std::str::FromStr>(v: &str) -> Result<T, String> {
    if let Some(n) = parse_memory(v) {
        if let Ok(t) = n.to_string().parse() {
            return Ok(t);
        }
        return Err("argument must be between bounds".into());
    }
    Err("argument couldn't be parsed into an integer".into())
}

fn parse_obuf(cfg: &mut Config, v: &str) -> Result<(), String> {
    let words: Vec<&str> = v.split_whitespace().collect();
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
        let (Some(hard), Some(soft), Ok(secs)) =
            (parse_memory(w[1]), parse_memory(w[2]), w[3].parse::<u64>())
        else {
            return Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into(),
            );
        };
        next[class] = ObufLimit {
            hard,
            soft,
            soft_secs: secs,
        };
    }
    cfg.obuf = next;
    Ok(())
}

/// Every setting the server has, in CONFIG GET order.
pub static PARAMS: &[Param] = &[
    Param {
        name: "bind",
        mutable: false,
        get: |c| c.bind.clone(),
        set: |c, v| {
            c.bind = v.to_string();
            Ok(())
        },
    },
    Param {
        name: "port",
        mutable: false,
        get: |c| c.port.to_string(),
        set: |c, v| {
            c.port = parse_int(v)?;
            Ok(())
        },
    },
    Param {
        name: "maxclients",
        mutable: true,
        get: |c| c.maxclients.to_string(),
        set: |c, v| {
            let n: u32 = parse_int(v)?;
            if n < 1 {
                return Err("argument must be between 1 and 4294967295 inclusive".into());
            }
            c.maxclients = n;
            Ok(())
        },
    },
    Param {
        name: "timeout",
        mutable: true,
        get: |c| c.timeout.to_string(),
        set: |c, v| {
            let n: i64 = parse_int(v)?;
            if !(0..=i32::MAX as i64).contains(&n) {
                return Err("argument must be between 0 and 2147483647 inclusive".into());
            }
            c.timeout = n as u64;
            Ok(())
        },
    },
    Param {
        name: "requirepass",
        mutable: true,
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
    Param {
        name: "databases",
        mutable: false,
        get: |c| c.databases.to_string(),
        set: |c, v| {
            let n: usize = parse_int(v)?;
            if !(1..=i32::MAX as usize).contains(&n) {
                return Err("argument must be between 1 and 2147483647 inclusive".into());
            }
            c.databases = n;
            Ok(())
        },
    },
    Param {
        name: "loglevel",
        mutable: true,
        get: |c| c.loglevel.clone(),
        set: |c, v| {
            let l = v.to_ascii_lowercase();
            if level_filter(&l).is_none() {
                return Err("argument(s) must be one of the following: debug, verbose, notice, warning, nothing".into());
            }
            log::set_max_level(level_filter(&l).unwrap());
            c.loglevel = l;
            Ok(())
        },
    },
    Param {
        name: "pidfile",
        mutable: false,
        get: |c| c.pidfile.clone(),
        set: |c, v| {
            c.pidfile = v.to_string();
            Ok(())
        },
    },
    Param {
        name: "client-output-buffer-limit",
        mutable: true,
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
        mutable: true,
        get: |c| c.hz.to_string(),
        set: |c, v| {
            let n: i64 = parse_int(v)?;
            if !(0..=i32::MAX as i64).contains(&n) {
                return Err("argument must be between 0 and 2147483647 inclusive".into());
            }
            // Redis clamps hz to 1..=500.
            c.hz = n.clamp(1, 500) as u32;
            Ok(())
        },
    },
    Param {
        name: "proto-max-bulk-len",
        mutable: true,
        get: |c| c.proto_max_bulk_len.to_string(),
        set: |c, v| {
            let n: u64 = parse_int(v)?;
            if n < 1024 * 1024 {
                return Err(
                    "argument must be between 1048576 and 9223372036854775807 inclusive".into(),
                );
            }
            c.proto_max_bulk_len = n;
            Ok(())
        },
    },
    Param {
        name: "maxmemory",
        mutable: true,
        get: |c| c.maxmemory.to_string(),
        set: |c, v| {
            c.maxmemory = parse_int(v)?;
            Ok(())
        },
    },
    Param {
        name: "maxmemory-policy",
        mutable: true,
        get: |c| c.maxmemory_policy.clone(),
        set: |c, v| {
            let l = v.to_ascii_lowercase();
            const OK: &[&str] = &[
                "volatile-lru",
                "volatile-lfu",
                "volatile-random",
                "volatile-ttl",
                "allkeys-lru",
                "allkeys-lfu",
                "allkeys-random",
                "noeviction",
            ];
            if !OK.contains(&l.as_str()) {
                return Err("argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction".into());
            }
            c.maxmemory_policy = l;
            Ok(())
        },
    },
    Param {
        name: "save",
        mutable: true,
        get: |c| c.save.clone(),
        set: |c, v| {
            c.save = v.to_string();
            Ok(())
        },
    },
    Param {
        name: "appendonly",
        mutable: true,
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
        mutable: true,
        get: |c| c.dir.clone(),
        set: |c, v| {
            std::env::set_current_dir(v).map_err(|e| e.to_string())?;
            c.dir = v.to_string();
            Ok(())
        },
    },
];

/// The parameter called `name` (case-insensitive).
pub fn find_param(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
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
        Ok(cfg)
    }

    /// Applies `name value...` lines; `#` starts a comment.
    pub fn apply_file(&mut self, text: &str) -> Result<(), String> {
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words = conf_words(line).map_err(|e| format!("config line {}: {e}", n + 1))?;
            let Some((name, vals)) = words.split_first() else {
                continue;
            };
            self.apply(name, &vals.join(" "))
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
    fn memory_units() {
        assert_eq!(parse_memory("256mb"), Some(256 << 20));
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("1KB"), Some(1024));
        assert_eq!(parse_memory("0"), Some(0));
        assert_eq!(parse_memory("-1"), None);
        assert_eq!(parse_memory("x"), None);
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
