//! Command-line flags (redis-benchmark's letters, `-h` is the host) and their validation into a `Config`.

use crate::workload::{self, Keys, Test};
use clap::{ArgAction, Parser, ValueEnum};
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "ferrokv-bench",
    version,
    disable_help_flag = true,
    about = "Load generator for Redis-compatible servers (ferrokv, Redis): redis-benchmark's flags, \
             one event loop per thread, open-loop --rate with coordinated-omission-corrected latency.",
    after_help = "Examples:\n  ferrokv-bench -t set,get -n 1000000 -c 50 -P 16 -r 100000 -q\n  \
                  ferrokv-bench --ratio 1:10 --key-pattern zipf -r 100000 --rate 50000 --duration 10 --json\n  \
                  ferrokv-bench -t get --idle 10000 --duration 10\n  \
                  ferrokv-bench -n 100000 -r 1000 -- HSET h f:__rand_int__ v"
)]
pub struct Cli {
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
    /// Server hostname.
    #[arg(short = 'h', long = "host", default_value = "127.0.0.1")]
    host: String,
    /// Server port.
    #[arg(short = 'p', long = "port", default_value_t = 8006)]
    port: u16,
    /// Password for AUTH.
    #[arg(short = 'a', long = "pass")]
    password: Option<String>,
    /// Username for AUTH (with -a).
    #[arg(long)]
    user: Option<String>,
    /// SELECT this database on every connection.
    #[arg(long)]
    dbnum: Option<u32>,
    /// Parallel connections sending requests.
    #[arg(short = 'c', long = "clients", default_value_t = 50)]
    clients: usize,
    /// Total requests per test (default 100000 unless --duration).
    #[arg(short = 'n', long = "requests")]
    requests: Option<u64>,
    /// Run each test for this many seconds instead of -n requests.
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Send for this many seconds before measuring; those requests are not counted.
    #[arg(long, value_name = "SECS", default_value_t = 0.0)]
    warmup: f64,
    /// Payload size of SET/LPUSH/... values in bytes.
    #[arg(short = 'd', long = "datasize", default_value_t = 3)]
    data_size: usize,
    /// Pipeline depth: requests per connection per write (in --rate mode: most requests in flight per
    /// connection).
    #[arg(short = 'P', long = "pipeline", default_value_t = 1)]
    pipeline: usize,
    /// Keyspace size: keys become key:000000000000 .. key:(N-1), zero-padded to 12 digits.
    #[arg(short = 'r', long = "keyspacelen")]
    keyspace: Option<u64>,
    /// Comma-separated tests (ping, ping_inline, ping_mbulk, set, get, incr, lpush, rpush, lpop, rpop,
    /// sadd, hset, spop, zadd, zpopmin, lrange_100, lrange_300, lrange_500, lrange_600, mset).
    #[arg(short = 't', long = "tests")]
    tests: Option<String>,
    /// One line per test.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// CSV output.
    #[arg(long)]
    csv: bool,
    /// One JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Event-loop threads; connections are split among them.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Open loop: send this many requests per second in total on a fixed schedule and measure latency
    /// from each request's scheduled send time.
    #[arg(long, value_name = "OPS")]
    rate: Option<f64>,
    /// Also open and hold this many idle connections during each test.
    #[arg(long, value_name = "N", default_value_t = 0)]
    idle: usize,
    /// Mixed workload of SET and GET, e.g. 1:10 (replaces -t).
    #[arg(long, value_name = "SET:GET")]
    ratio: Option<String>,
    /// How -r keys are drawn.
    #[arg(long, value_enum, default_value_t = KeyPattern::Uniform)]
    key_pattern: KeyPattern,
    /// Exponent of the zipf key distribution.
    #[arg(long, default_value_t = 0.99)]
    zipf_exponent: f64,
    /// A command to benchmark instead of -t (`__rand_int__` in it is replaced as with -r).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    command: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KeyPattern {
    Uniform,
    Zipf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Text,
    Quiet,
    Csv,
    Json,
}

/// When a run stops issuing requests.
#[derive(Clone, Copy, Debug)]
pub enum Stop {
    Requests(u64),
    Duration(Duration),
}

/// Validated settings.
pub struct Config {
    pub host: String,
    pub addr: SocketAddr,
    pub password: Option<String>,
    pub user: Option<String>,
    pub dbnum: Option<u32>,
    pub clients: usize,
    pub stop: Stop,
    pub warmup: Duration,
    pub data_size: usize,
    pub pipeline: usize,
    pub keys: Keys,
    pub threads: usize,
    pub rate: Option<f64>,
    pub idle: usize,
    pub ratio: Option<(u64, u64)>,
    pub output: Output,
    /// Test names from -t, or empty when --ratio or a custom command decides.
    pub tests: Vec<&'static str>,
    pub command: Vec<String>,
}

impl Config {
    pub fn from_cli(cli: Cli) -> Result<Config, String> {
        if cli.clients == 0 {
            return Err("-c must be at least 1".into());
        }
        if cli.pipeline == 0 {
            return Err("-P must be at least 1".into());
        }
        if cli.threads == 0 || cli.threads > cli.clients {
            return Err(format!(
                "--threads must be between 1 and -c ({})",
                cli.clients
            ));
        }
        let stop = match (cli.requests, cli.duration) {
            (Some(_), Some(_)) => return Err("give -n or --duration, not both".into()),
            (Some(0), None) => return Err("-n must be at least 1".into()),
            (Some(n), None) => Stop::Requests(n),
            (None, Some(d)) if d > 0.0 && d.is_finite() => {
                Stop::Duration(Duration::from_secs_f64(d))
            }
            (None, Some(_)) => return Err("--duration must be a positive number of seconds".into()),
            (None, None) => Stop::Requests(100_000),
        };
        if !(cli.warmup >= 0.0 && cli.warmup.is_finite()) {
            return Err("--warmup must be a number of seconds >= 0".into());
        }
        if let Some(r) = cli.rate {
            if !(r > 0.0 && r.is_finite()) {
                return Err("--rate must be a positive number of requests per second".into());
            }
        }
        if cli.data_size > 512 << 20 {
            return Err("-d is limited to 512 MB".into());
        }
        let keys = match (cli.keyspace, cli.key_pattern) {
            (Some(0), _) => return Err("-r must be at least 1".into()),
            (Some(n), _) if n > 1_000_000_000_000 => {
                return Err("-r is limited to 10^12 keys (12 digits)".into())
            }
            (Some(n), KeyPattern::Uniform) => Keys::Uniform(n),
            (Some(n), KeyPattern::Zipf) => {
                if !(cli.zipf_exponent > 0.0 && cli.zipf_exponent.is_finite()) {
                    return Err("--zipf-exponent must be positive".into());
                }
                Keys::Zipf(n, cli.zipf_exponent)
            }
            (None, KeyPattern::Zipf) => {
                return Err("--key-pattern zipf needs a keyspace: add -r N".into())
            }
            (None, KeyPattern::Uniform) => Keys::Fixed,
        };
        let ratio = cli.ratio.as_deref().map(parse_ratio).transpose()?;
        let exclusive = [
            cli.tests.is_some(),
            ratio.is_some(),
            !cli.command.is_empty(),
        ];
        if exclusive.iter().filter(|&&b| b).count() > 1 {
            return Err("give only one of -t, --ratio, or a command".into());
        }
        let tests = if ratio.is_some() || !cli.command.is_empty() {
            Vec::new()
        } else {
            workload::select(cli.tests.as_deref())?
        };
        let output = match (cli.json, cli.csv, cli.quiet) {
            (true, true, _) => return Err("give --json or --csv, not both".into()),
            (true, false, _) => Output::Json,
            (false, true, _) => Output::Csv,
            (false, false, true) => Output::Quiet,
            _ => Output::Text,
        };
        let addr = (cli.host.as_str(), cli.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}:{}: {e}", cli.host, cli.port))?
            .min_by_key(|a| a.is_ipv6())
            .ok_or_else(|| format!("{}:{} resolves to no address", cli.host, cli.port))?;
        Ok(Config {
            host: cli.host,
            addr,
            password: cli.password,
            user: cli.user,
            dbnum: cli.dbnum,
            clients: cli.clients,
            stop,
            warmup: Duration::from_secs_f64(cli.warmup),
            data_size: cli.data_size,
            pipeline: cli.pipeline,
            keys,
            threads: cli.threads,
            rate: cli.rate,
            idle: cli.idle,
            ratio,
            output,
            tests,
            command: cli.command,
        })
    }

    /// The tests to run, in order, each built when its turn comes (a large -d payload is not held
    /// twenty times over).
    pub fn test_count(&self) -> usize {
        if self.ratio.is_some() || !self.command.is_empty() {
            1
        } else {
            self.tests.len()
        }
    }

    pub fn build_test(&self, i: usize) -> Test {
        let data = vec![b'x'; self.data_size];
        if let Some((a, b)) = self.ratio {
            workload::mixed(a, b, &data)
        } else if !self.command.is_empty() {
            workload::custom(&self.command)
        } else {
            workload::named(self.tests[i], &data)
        }
    }
}

fn parse_ratio(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("--ratio wants SET:GET as two integers, e.g. 1:10 (got {s:?})");
    let (a, b) = s.split_once(':').ok_or_else(bad)?;
    let a: u64 = a.trim().parse().map_err(|_| bad())?;
    let b: u64 = b.trim().parse().map_err(|_| bad())?;
    if a + b == 0 || a > u32::MAX as u64 || b > u32::MAX as u64 {
        return Err(bad());
    }
    Ok((a, b))
}
