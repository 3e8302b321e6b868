//! What is sent: the tests redis-benchmark knows (same commands, same `key:__rand_int__` keys, same `x`
//! payload, so results compare), a SET:GET mix, a custom command, and the key generators. Each command
//! is encoded once into a template; per request only the 12 key digits are patched in place.

use crate::resp;

/// redis-benchmark's placeholder; with `-r` each occurrence becomes 12 random decimal digits.
const RAND: &[u8] = b"__rand_int__";
const RAND_LEN: usize = 12;

/// One command of a test, pre-encoded.
pub struct Op {
    /// Name in reports (`GET`, `LRANGE_100`, ...).
    pub name: String,
    template: Vec<u8>,
    /// Offsets of every `__rand_int__` inside `template`.
    rand_at: Vec<usize>,
}

impl Op {
    fn new(name: &str, args: &[&[u8]]) -> Op {
        let template = resp::encode(args);
        let rand_at = template
            .windows(RAND_LEN)
            .enumerate()
            .filter(|(_, w)| *w == RAND)
            .map(|(i, _)| i)
            .collect();
        Op {
            name: name.to_string(),
            template,
            rand_at,
        }
    }
}

/// Something run as one timed benchmark: a single command, or a SET:GET mix.
pub struct Test {
    pub title: String,
    pub ops: Vec<Op>,
    /// `(a, b)`: of every `a + b` requests, `a` are `ops[0]` and `b` are `ops[1]`.
    ratio: Option<(u64, u64)>,
    /// A list LRANGE reads must hold at least this many elements before the run.
    pub needs_list: usize,
}

impl Test {
    /// Which op the `seq`-th request of a connection uses. The `a` picks of a ratio are spread evenly
    /// over each cycle (Bresenham) rather than bunched, so short runs see the intended mix.
    #[inline]
    pub fn pick(&self, seq: u64) -> usize {
        match self.ratio {
            None => 0,
            Some((a, b)) => {
                let n = a + b;
                let i = seq % n;
                usize::from((i + 1) * a / n == i * a / n)
            }
        }
    }
}

/// Test names accepted by `-t`, in the order redis-benchmark runs them.
pub const TEST_NAMES: &[&str] = &[
    "ping_inline",
    "ping_mbulk",
    "set",
    "get",
    "incr",
    "lpush",
    "rpush",
    "lpop",
    "rpop",
    "sadd",
    "hset",
    "spop",
    "zadd",
    "zpopmin",
    "lrange_100",
    "lrange_300",
    "lrange_500",
    "lrange_600",
    "mset",
];

/// Expands `-t` (comma-separated, any case; `ping` = both pings, `lrange` = all four) into the tests to
/// run, in redis-benchmark's order.
pub fn select(spec: Option<&str>) -> Result<Vec<&'static str>, String> {
    let Some(spec) = spec else {
        return Ok(TEST_NAMES.to_vec());
    };
    let mut want = Vec::new();
    for raw in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let t = raw.to_ascii_lowercase();
        let hits: Vec<&str> = TEST_NAMES
            .iter()
            .copied()
            .filter(|n| {
                *n == t
                    || (t == "ping" && n.starts_with("ping_"))
                    || (t == "lrange" && n.starts_with("lrange_"))
            })
            .collect();
        if hits.is_empty() {
            return Err(format!(
                "unknown test {raw:?} in -t; known: ping, {}",
                TEST_NAMES.join(", ")
            ));
        }
        want.extend(hits);
    }
    if want.is_empty() {
        return Err("-t names no test".into());
    }
    Ok(TEST_NAMES
        .iter()
        .copied()
        .filter(|n| want.contains(n))
        .collect())
}

/// Builds a named test with a payload of `data` bytes.
pub fn named(name: &str, data: &[u8]) -> Test {
    let single = |title: &str, args: &[&[u8]]| Test {
        title: title.to_string(),
        ops: vec![Op::new(title, args)],
        ratio: None,
        needs_list: 0,
    };
    match name {
        "ping_inline" => Test {
            title: "PING_INLINE".into(),
            ops: vec![Op {
                name: "PING_INLINE".into(),
                template: b"PING\r\n".to_vec(),
                rand_at: Vec::new(),
            }],
            ratio: None,
            needs_list: 0,
        },
        "ping_mbulk" => single("PING_MBULK", &[b"PING"]),
        "set" => single("SET", &[b"SET", b"key:__rand_int__", data]),
        "get" => single("GET", &[b"GET", b"key:__rand_int__"]),
        "incr" => single("INCR", &[b"INCR", b"counter:__rand_int__"]),
        "lpush" => single("LPUSH", &[b"LPUSH", b"mylist", data]),
        "rpush" => single("RPUSH", &[b"RPUSH", b"mylist", data]),
        "lpop" => single("LPOP", &[b"LPOP", b"mylist"]),
        "rpop" => single("RPOP", &[b"RPOP", b"mylist"]),
        "sadd" => single("SADD", &[b"SADD", b"myset", b"element:__rand_int__"]),
        "hset" => single("HSET", &[b"HSET", b"myhash", b"element:__rand_int__", data]),
        "spop" => single("SPOP", &[b"SPOP", b"myset"]),
        "zadd" => single("ZADD", &[b"ZADD", b"myzset", b"0", b"element:__rand_int__"]),
        "zpopmin" => single("ZPOPMIN", &[b"ZPOPMIN", b"myzset"]),
        "mset" => {
            let mut args: Vec<&[u8]> = vec![b"MSET"];
            for _ in 0..10 {
                args.push(b"key:__rand_int__");
                args.push(data);
            }
            single("MSET", &args)
        }
        lrange => {
            // Only the lrange_N names reach here (select() filters the rest).
            let n: usize = lrange
                .strip_prefix("lrange_")
                .and_then(|n| n.parse().ok())
                .unwrap_or(100);
            let last = (n - 1).to_string();
            let mut t = single(
                &format!("LRANGE_{n}"),
                &[b"LRANGE", b"mylist", b"0", last.as_bytes()],
            );
            t.needs_list = n;
            t
        }
    }
}

/// The `--ratio a:b` mix of SET and GET over the same keys.
pub fn mixed(a: u64, b: u64, data: &[u8]) -> Test {
    Test {
        title: format!("SET:GET {a}:{b}"),
        ops: vec![
            Op::new("SET", &[b"SET", b"key:__rand_int__", data]),
            Op::new("GET", &[b"GET", b"key:__rand_int__"]),
        ],
        ratio: Some((a, b)),
        needs_list: 0,
    }
}

/// A command given on the command line, as redis-benchmark takes one (`__rand_int__` honoured).
pub fn custom(args: &[String]) -> Test {
    let title = args.join(" ");
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    Test {
        ops: vec![Op::new(&title, &bytes)],
        title,
        ratio: None,
        needs_list: 0,
    }
}

/// How keys are drawn.
#[derive(Clone, Copy, Debug)]
pub enum Keys {
    /// No `-r`: the placeholder stays literal (`key:__rand_int__`), as in redis-benchmark.
    Fixed,
    Uniform(u64),
    Zipf(u64, f64),
}

/// Per-thread key source and request writer.
pub struct KeyGen {
    rng: Rng,
    keys: Keys,
    zipf: Option<Zipf>,
}

impl KeyGen {
    pub fn new(keys: Keys, seed: u64) -> KeyGen {
        let zipf = match keys {
            Keys::Zipf(n, s) => Some(Zipf::new(n, s)),
            _ => None,
        };
        KeyGen {
            rng: Rng(seed),
            keys,
            zipf,
        }
    }

    #[inline]
    fn next_key(&mut self) -> u64 {
        match (self.keys, &self.zipf) {
            (Keys::Zipf(..), Some(z)) => z.sample(&mut self.rng) - 1,
            (Keys::Uniform(n), _) | (Keys::Zipf(n, _), None) => self.rng.below(n),
            (Keys::Fixed, _) => 0,
        }
    }

    /// Appends one request of `op` to `out`, with fresh keys.
    #[inline]
    pub fn write(&mut self, op: &Op, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&op.template);
        if matches!(self.keys, Keys::Fixed) {
            return;
        }
        for &at in &op.rand_at {
            let k = self.next_key();
            put_digits(&mut out[start + at..start + at + RAND_LEN], k);
        }
    }
}

/// Writes `v` as zero-padded decimal digits filling `dst` (`%012llu`).
#[inline]
fn put_digits(dst: &mut [u8], mut v: u64) {
    for d in dst.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// wyrand: fast, and good enough to pick keys.
pub struct Rng(u64);

impl Rng {
    #[inline]
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let t = (self.0 as u128).wrapping_mul((self.0 ^ 0xe703_7ed1_a0b4_28db) as u128);
        ((t >> 64) as u64) ^ (t as u64)
    }

    /// Uniform in `0..n` (multiply-shift, no division).
    #[inline]
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    #[inline]
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Zipf over ranks `1..=n` with exponent `s`, by rejection-inversion (Hörmann and Derflinger, 1996):
/// constant time and memory per sample whatever `n`, unlike a CDF table.
struct Zipf {
    n: f64,
    s: f64,
    h_x1: f64,
    h_n: f64,
    cut: f64,
}

impl Zipf {
    fn new(n: u64, s: f64) -> Zipf {
        let mut z = Zipf {
            n: n as f64,
            s,
            h_x1: 0.0,
            h_n: 0.0,
            cut: 0.0,
        };
        z.h_x1 = z.big_h(1.5) - 1.0;
        z.h_n = z.big_h(z.n + 0.5);
        z.cut = 2.0 - z.big_h_inv(z.big_h(2.5) - z.h(2.0));
        z
    }

    fn h(&self, x: f64) -> f64 {
        (-self.s * x.ln()).exp()
    }

    /// An antiderivative of `h`.
    fn big_h(&self, x: f64) -> f64 {
        let lx = x.ln();
        expm1_over_x((1.0 - self.s) * lx) * lx
    }

    fn big_h_inv(&self, x: f64) -> f64 {
        let t = (x * (1.0 - self.s)).max(-1.0);
        (ln1p_over_x(t) * x).exp()
    }

    fn sample(&self, rng: &mut Rng) -> u64 {
        loop {
            let u = self.h_n + rng.unit() * (self.h_x1 - self.h_n);
            let x = self.big_h_inv(u);
            let k = (x + 0.5).floor().clamp(1.0, self.n);
            if k - x <= self.cut || u >= self.big_h(k + 0.5) - self.h(k) {
                return k as u64;
            }
        }
    }
}

fn expm1_over_x(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.exp_m1() / x
    } else {
        1.0 + x * 0.5 * (1.0 + x / 3.0 * (1.0 + 0.25 * x))
    }
}

fn ln1p_over_x(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.ln_1p() / x
    } else {
        1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_patched_in_place() {
        let t = named("mset", b"xxx");
        assert_eq!(t.ops[0].rand_at.len(), 10);
        let mut g = KeyGen::new(Keys::Uniform(1000), 7);
        let mut out = Vec::new();
        g.write(&named("get", b"").ops[0], &mut out);
        let s = String::from_utf8(out).unwrap();
        assert!(
            s.starts_with("*2\r\n$3\r\nGET\r\n$16\r\nkey:000000000"),
            "{s}"
        );
        let mut fixed = KeyGen::new(Keys::Fixed, 7);
        let mut out = Vec::new();
        fixed.write(&named("get", b"").ops[0], &mut out);
        assert_eq!(out, b"*2\r\n$3\r\nGET\r\n$16\r\nkey:__rand_int__\r\n");
    }

    #[test]
    fn ratio_spreads_picks() {
        let t = mixed(1, 3, b"x");
        let picks: Vec<usize> = (0..8).map(|i| t.pick(i)).collect();
        assert_eq!(picks.iter().filter(|&&p| p == 0).count(), 2);
        let t = mixed(0, 1, b"x");
        assert!((0..10).all(|i| t.pick(i) == 1));
    }

    #[test]
    fn zipf_is_skewed_and_in_range() {
        let z = Zipf::new(1000, 0.99);
        let mut rng = Rng(1);
        let mut counts = vec![0u32; 1001];
        for _ in 0..100_000 {
            let k = z.sample(&mut rng);
            assert!((1..=1000).contains(&k));
            counts[k as usize] += 1;
        }
        // Rank 1 of a 0.99-Zipf over 1000 keys draws about 13% of samples; rank 2 about half that.
        assert!(counts[1] > 11_000 && counts[1] < 15_500, "{}", counts[1]);
        assert!(
            counts[2] * 2 > counts[1] * 8 / 10,
            "{} {}",
            counts[1],
            counts[2]
        );
    }

    #[test]
    fn select_expands() {
        assert_eq!(
            select(Some("ping")).unwrap(),
            vec!["ping_inline", "ping_mbulk"]
        );
        assert_eq!(select(Some("GET,set")).unwrap(), vec!["set", "get"]);
        assert!(select(Some("nope")).is_err());
    }
}
