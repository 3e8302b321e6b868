//! A log-bucketed latency histogram of fixed size (the HdrHistogram layout, written here): values below
//! 1024 ns get a bucket each, every power of two above that is split into 512 linear sub-buckets, so any
//! recorded value is known to within 0.2% while the whole table stays 18,432 counters (147 KB) whatever
//! the run length. Samples are never stored.

/// Exact buckets for `0..2^SUB_BITS`; above, `HALF` sub-buckets per power of two.
const SUB_BITS: u32 = 10;
const HALF: u64 = 1 << (SUB_BITS - 1);
/// Values are clamped below 2^44 ns (about 4.9 hours), which bounds the table.
const MAX_BITS: u32 = 44;
const MAX_VALUE: u64 = (1 << MAX_BITS) - 1;
const BUCKETS: usize = (1 << SUB_BITS) + ((MAX_BITS - SUB_BITS) as usize) * HALF as usize;

#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64]>,
    total: u64,
    min: u64,
    max: u64,
    sum: u128,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            total: 0,
            min: u64::MAX,
            max: 0,
            sum: 0,
        }
    }
}

fn index_of(v: u64) -> usize {
    if v < (1 << SUB_BITS) {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros();
    let shift = msb - (SUB_BITS - 1);
    let sub = (v >> shift) - HALF;
    (1 << SUB_BITS) + (msb - SUB_BITS) as usize * HALF as usize + sub as usize
}

/// The largest value that lands in bucket `idx` (what HdrHistogram reports for a percentile).
fn highest_in(idx: usize) -> u64 {
    if idx < (1 << SUB_BITS) {
        return idx as u64;
    }
    let off = (idx - (1 << SUB_BITS)) as u64;
    let msb = (off / HALF) as u32 + SUB_BITS;
    let sub = off % HALF + HALF;
    let shift = msb - (SUB_BITS - 1);
    ((sub + 1) << shift) - 1
}

impl Histogram {
    #[inline]
    pub fn record(&mut self, ns: u64) {
        let v = ns.min(MAX_VALUE);
        self.counts[index_of(v)] += 1;
        self.total += 1;
        self.sum += v as u128;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += *b;
        }
        self.total += other.total;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn min(&self) -> u64 {
        if self.total == 0 {
            0
        } else {
            self.min
        }
    }

    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }

    /// The value at percentile `p` (0..=100): the top of the bucket holding the sample of that rank,
    /// never above the exact maximum.
    pub fn percentile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((p / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (idx, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return highest_in(idx).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_tight() {
        let mut prev = 0;
        for v in [
            0u64,
            1,
            1023,
            1024,
            1025,
            2047,
            2048,
            123_456,
            1 << 30,
            MAX_VALUE,
        ] {
            let i = index_of(v);
            assert!(i >= prev && i < BUCKETS, "{v}");
            prev = i;
            let hi = highest_in(i);
            assert!(hi >= v, "{v} -> {hi}");
            assert!((hi - v) as f64 <= v as f64 / 500.0 + 1.0, "{v} -> {hi}");
            assert_eq!(index_of(hi), i);
            assert_eq!(index_of(hi + 1), i + 1, "{v}");
        }
    }

    #[test]
    fn percentiles() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record(v * 1000);
        }
        let p50 = h.percentile(50.0) as f64;
        assert!((p50 - 50_000_000.0).abs() / 50_000_000.0 < 0.003, "{p50}");
        let p999 = h.percentile(99.9) as f64;
        assert!((p999 - 99_900_000.0).abs() / 99_900_000.0 < 0.003, "{p999}");
        assert_eq!(h.percentile(100.0), 100_000_000);
        assert_eq!(h.max(), 100_000_000);
        assert_eq!(h.min(), 1000);
    }
}
