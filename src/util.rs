//! Small numeric and hashing helpers shared by the parser and the commands: Redis's strict integer parsing
//! (`string2ll`), allocation-free integer formatting, the keyed byte hash of the key table and a fast PRNG.

use std::hash::{BuildHasher, Hasher};

/// Parses a decimal i64 exactly as Redis's `string2ll` does: no sign other than a leading `-`, no leading
/// zeros (except "0" itself), no spaces, no "-0", overflow rejected.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [] => return None,
        [b'0'] => return Some(0),
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    if digits.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// Formats `v` into `buf` without allocating and returns the digits.
pub fn fmt_i64(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Appends the decimal form of `v` to `out`.
#[inline]
pub fn push_i64(out: &mut Vec<u8>, v: i64) {
    if (0..10).contains(&v) {
        out.push(b'0' + v as u8);
        return;
    }
    let mut b = [0u8; 20];
    out.extend_from_slice(fmt_i64(v, &mut b));
}

/// A process-wide random 64-bit value from std's randomly keyed SipHash; no extra crate needed.
pub fn random_seed() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x9e37_79b9_7f4a_7c15);
    h.finish()
}

#[inline(always)]
fn fold_mul(a: u64, b: u64) -> u64 {
    let r = (a as u128).wrapping_mul(b as u128);
    (r as u64) ^ ((r >> 64) as u64)
}

const P0: u64 = 0xa076_1d64_78bd_642f;
const P1: u64 = 0xe703_7ed1_a0b4_28db;
const P2: u64 = 0x8ebc_6af0_9c88_c6e3;

/// Keyed hash for the key table: a folded-multiply mix, 16 bytes a step. The per-process seed keeps
/// clients from choosing colliding keys, which is what Redis's SipHash is for, at a fraction of the cost.
#[inline]
pub fn hash_bytes(seed: u64, b: &[u8]) -> u64 {
    let len = b.len();
    let mut h = seed ^ (len as u64).wrapping_mul(P0);
    let mut rest = b;
    while rest.len() > 16 {
        let x = u64::from_le_bytes(rest[0..8].try_into().unwrap());
        let y = u64::from_le_bytes(rest[8..16].try_into().unwrap());
        h = fold_mul(x ^ P1 ^ h, y ^ P2);
        rest = &rest[16..];
    }
    let (x, y) = if rest.len() >= 8 {
        (
            u64::from_le_bytes(rest[0..8].try_into().unwrap()),
            u64::from_le_bytes(rest[rest.len() - 8..].try_into().unwrap()),
        )
    } else if rest.len() >= 4 {
        (
            u32::from_le_bytes(rest[0..4].try_into().unwrap()) as u64,
            u32::from_le_bytes(rest[rest.len() - 4..].try_into().unwrap()) as u64,
        )
    } else if !rest.is_empty() {
        (
            ((rest[0] as u64) << 16)
                | ((rest[rest.len() / 2] as u64) << 8)
                | rest[rest.len() - 1] as u64,
            0,
        )
    } else {
        (0, 0)
    };
    fold_mul(fold_mul(x ^ P1 ^ h, y ^ P2 ^ len as u64), P0 ^ seed)
}

/// xorshift64* PRNG: fast, good enough for RANDOMKEY and sampling, never for secrets.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0), by multiply-shift to avoid a division.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

/// Nanoseconds on a monotonic clock cheap enough to read twice per command: the TSC on x86_64 (invariant
/// on the machines this targets), scaled by a rate measured against `Instant` on first use.
#[inline]
pub fn now_ns() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        let (t0, ns_per_tick) = *TSC.get_or_init(calibrate_tsc);
        // SAFETY: RDTSC has no preconditions on x86_64.
        let t = unsafe { core::arch::x86_64::_rdtsc() };
        (t.wrapping_sub(t0) as f64 * ns_per_tick) as u64
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        START
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_nanos() as u64
    }
}

#[cfg(target_arch = "x86_64")]
static TSC: std::sync::OnceLock<(u64, f64)> = std::sync::OnceLock::new();
#[cfg(not(target_arch = "x86_64"))]
static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

#[cfg(target_arch = "x86_64")]
fn calibrate_tsc() -> (u64, f64) {
    // SAFETY: RDTSC has no preconditions on x86_64.
    let tick = || unsafe { core::arch::x86_64::_rdtsc() };
    let (i0, t0) = (std::time::Instant::now(), tick());
    while i0.elapsed() < std::time::Duration::from_millis(5) {
        std::hint::spin_loop();
    }
    let (ns, t1) = (i0.elapsed().as_nanos() as f64, tick());
    let rate = ns / (t1.wrapping_sub(t0).max(1)) as f64;
    (
        t0,
        if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1.0
        },
    )
}

/// ASCII case-insensitive equality, for command names and options.
#[inline]
pub fn eq_ci(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_i64_is_as_strict_as_string2ll() {
        for (s, v) in [
            ("0", Some(0)),
            ("1", Some(1)),
            ("-1", Some(-1)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-9223372036854775809", None),
            ("-0", None),
            ("01", None),
            ("+1", None),
            (" 1", None),
            ("1 ", None),
            ("", None),
            ("-", None),
            ("1a", None),
            ("99999999999999999999999", None),
        ] {
            assert_eq!(parse_i64(s.as_bytes()), v, "{s}");
        }
    }

    #[test]
    fn fmt_round_trips() {
        for v in [0, 1, -1, 9, 10, -10, 12345, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            push_i64(&mut out, v);
            assert_eq!(out, v.to_string().as_bytes());
        }
    }

    #[test]
    fn now_ns_tracks_real_time() {
        let a = now_ns();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let d = now_ns() - a;
        assert!((15_000_000..200_000_000).contains(&d), "{d}");
    }

    #[test]
    fn hash_depends_on_every_byte_and_seed() {
        let a = hash_bytes(1, b"key:0000001");
        assert_ne!(a, hash_bytes(1, b"key:0000002"));
        assert_ne!(a, hash_bytes(2, b"key:0000001"));
        assert_ne!(hash_bytes(1, b""), hash_bytes(1, b"\0"));
        assert_ne!(hash_bytes(1, b"ab"), hash_bytes(1, b"ba"));
    }
}
