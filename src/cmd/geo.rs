//! Geo commands, as Redis 7.0's `geo.c`, `geohash.c` and `geohash_helper.c` have them. A geo set is a
//! sorted set whose scores are 52-bit geohashes: longitude and latitude, each cut into 26 bits over
//! [-180, 180] and [-85.05112878, 85.05112878], interleaved (latitude in the even bits). GEOADD is ZADD
//! with such scores (it runs ZADD itself and replicates as ZADD, as Redis does); every search is
//! `georadius_generic`: the grid cell of the centre at a step fit for the radius plus its eight
//! neighbours, each read as a score range, every candidate checked against the shape by haversine
//! distance. Results without ASC/DESC come in that cell order, as Redis's do; sorting uses a stable sort
//! (glibc's qsort is a merge sort) or, for COUNT without ANY, Redis's partial quicksort, so ties between
//! equal distances come out in Redis's order too.
//!
//! The arithmetic is Redis's step for step (same operations in the same order, the platform's libm), so
//! scores, distances and coordinates are bit-identical to Redis's.

use std::cmp::Ordering;
use std::io::Write;

use super::notify::{notify, GENERIC, ZSET};
use super::read_lookup;
use super::repl::Propagate;
use super::zset::parse_score;
use super::{
    err, Args, Cmd, CmdResult, Ctx, Error, DENYOOM, ERR_NOT_FLOAT, ERR_NOT_INT, ERR_SYNTAX,
    ERR_WRONGTYPE, READONLY, WRITE,
};
use crate::store::zset::{Limits, ScoreRange, ZSet};
use crate::store::{Bytes, Db, Value};
use crate::util::{eq_ci, parse_i64};

const G: &str = "geo";
const RADIUS_COMPLEXITY: &str = "O(N+log(M)) where N is the number of elements inside the bounding box \
     of the circular area delimited by center and radius and M is the number of items inside the index.";
const SEARCH_COMPLEXITY: &str = "O(N+log(M)) where N is the number of elements in the grid-aligned \
     bounding box area around the shape provided as the filter and M is the number of items inside the \
     shape";

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("geoadd", -5, WRITE | DENYOOM, (1, 1, 1), geoadd).doc(
        G,
        "3.2.0",
        "Add one or more geospatial items in the geospatial index represented using a sorted set",
        "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
    ),
    Cmd::new("geodist", -4, READONLY, (1, 1, 1), geodist).doc(
        G,
        "3.2.0",
        "Returns the distance between two members of a geospatial index",
        "O(log(N))",
    ),
    Cmd::new("geohash", -2, READONLY, (1, 1, 1), geohash).doc(
        G,
        "3.2.0",
        "Returns members of a geospatial index as standard geohash strings",
        "O(log(N)) for each member requested, where N is the number of elements in the sorted set.",
    ),
    Cmd::new("geopos", -2, READONLY, (1, 1, 1), geopos).doc(
        G,
        "3.2.0",
        "Returns longitude and latitude of members of a geospatial index",
        "O(N) where N is the number of members requested.",
    ),
    Cmd::new("georadius", -6, WRITE | DENYOOM, (1, 1, 1), georadius).doc(
        G,
        "3.2.0",
        "Query a sorted set representing a geospatial index to fetch members matching a given maximum \
         distance from a point",
        RADIUS_COMPLEXITY,
    ),
    Cmd::new("georadius_ro", -6, READONLY, (1, 1, 1), georadius_ro).doc(
        G,
        "3.2.10",
        "A read-only variant for GEORADIUS",
        RADIUS_COMPLEXITY,
    ),
    Cmd::new(
        "georadiusbymember",
        -5,
        WRITE | DENYOOM,
        (1, 1, 1),
        georadiusbymember,
    )
    .doc(
        G,
        "3.2.0",
        "Query a sorted set representing a geospatial index to fetch members matching a given maximum \
         distance from a member",
        RADIUS_COMPLEXITY,
    ),
    Cmd::new(
        "georadiusbymember_ro",
        -5,
        READONLY,
        (1, 1, 1),
        georadiusbymember_ro,
    )
    .doc(
        G,
        "3.2.10",
        "A read-only variant for GEORADIUSBYMEMBER",
        RADIUS_COMPLEXITY,
    ),
    Cmd::new("geosearch", -7, READONLY, (1, 1, 1), geosearch).doc(
        G,
        "6.2.0",
        "Query a sorted set representing a geospatial index to fetch members inside an area of a box \
         or a circle.",
        SEARCH_COMPLEXITY,
    ),
    Cmd::new("geosearchstore", -8, WRITE | DENYOOM, (1, 2, 1), geosearchstore).doc(
        G,
        "6.2.0",
        "Query a sorted set representing a geospatial index to fetch members inside an area of a box \
         or a circle, and store the result in another key.",
        SEARCH_COMPLEXITY,
    ),
];

const ERR_UNIT: &str = "ERR unsupported unit provided. please use M, KM, FT, MI";
const ERR_DECODE: &str = "ERR could not decode requested zset member";
const ERR_RADIUS: &str = "ERR need numeric radius";
const ERR_RADIUS_NEG: &str = "ERR radius cannot be negative";
const ERR_WIDTH: &str = "ERR need numeric width";
const ERR_HEIGHT: &str = "ERR need numeric height";
const ERR_BOX_NEG: &str = "ERR height or width cannot be negative";
const ERR_COUNT: &str = "ERR COUNT must be > 0";
const ERR_ANY: &str = "ERR the ANY argument requires COUNT argument";

// ---------------------------------------------------------------------------------------------------
// Geohash arithmetic (geohash.c, geohash_helper.c).

const STEP_MAX: u8 = 26;
const LAT_MIN: f64 = -85.05112878;
const LAT_MAX: f64 = 85.05112878;
const LON_MIN: f64 = -180.0;
const LON_MAX: f64 = 180.0;
/// Redis's `D_R`: computed, not the rounded DEG_TO_RAD literal, so the products match its bit for bit.
const D_R: f64 = std::f64::consts::PI / 180.0;
const EARTH_RADIUS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Bits {
    bits: u64,
    step: u8,
}

impl Bits {
    /// Redis's HASHISZERO: the neighbour dropped from the search.
    fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The hash shifted to the 52-bit score scale.
    fn align52(&self) -> u64 {
        self.bits << (52 - self.step as u32 * 2)
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Range {
    min: f64,
    max: f64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Area {
    lon: Range,
    lat: Range,
}

const GEO_LON: Range = Range {
    min: LON_MIN,
    max: LON_MAX,
};
const GEO_LAT: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

fn interleave64(xlo: u32, ylo: u32) -> u64 {
    const B: [u64; 5] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
    ];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let (mut x, mut y) = (xlo as u64, ylo as u64);
    for k in (0..5).rev() {
        x = (x | (x << S[k])) & B[k];
        y = (y | (y << S[k])) & B[k];
    }
    x | (y << 1)
}

fn deinterleave64(interleaved: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
        0x00000000FFFFFFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let (mut x, mut y) = (interleaved, interleaved >> 1);
    for k in 0..6 {
        x = (x | (x >> S[k])) & B[k];
        y = (y | (y >> S[k])) & B[k];
    }
    x | (y << 32)
}

/// C's conversion of a non-negative double below 2^32 to `uint32_t`: truncation.
fn to_u32(d: f64) -> u32 {
    d as u32
}

/// geohashEncode over the given ranges; None outside Redis's limits (whatever the ranges).
fn encode(lon_r: Range, lat_r: Range, lon: f64, lat: f64, step: u8) -> Option<Bits> {
    if !(LON_MIN..=LON_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_r.min || lat > lat_r.max || lon < lon_r.min || lon > lon_r.max {
        return None;
    }
    let mut lat_offset = (lat - lat_r.min) / (lat_r.max - lat_r.min);
    let mut lon_offset = (lon - lon_r.min) / (lon_r.max - lon_r.min);
    lat_offset *= (1u64 << step) as f64;
    lon_offset *= (1u64 << step) as f64;
    Some(Bits {
        bits: interleave64(to_u32(lat_offset), to_u32(lon_offset)),
        step,
    })
}

fn encode_wgs84(lon: f64, lat: f64, step: u8) -> Option<Bits> {
    encode(GEO_LON, GEO_LAT, lon, lat, step)
}

/// geohashDecode: the cell a hash names (None for the zeroed hash).
fn decode(lon_r: Range, lat_r: Range, hash: Bits) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let sep = deinterleave64(hash.bits);
    let lat_scale = lat_r.max - lat_r.min;
    let lon_scale = lon_r.max - lon_r.min;
    let ilato = sep as u32;
    let ilono = (sep >> 32) as u32;
    let div = (1u64 << hash.step) as f64;
    Some(Area {
        lat: Range {
            min: lat_r.min + (ilato as f64 * 1.0 / div) * lat_scale,
            max: lat_r.min + (ilato.wrapping_add(1) as f64 * 1.0 / div) * lat_scale,
        },
        lon: Range {
            min: lon_r.min + (ilono as f64 * 1.0 / div) * lon_scale,
            max: lon_r.min + (ilono.wrapping_add(1) as f64 * 1.0 / div) * lon_scale,
        },
    })
}

/// x86-64's `(uint64_t)` of a double, as gcc compiles it: values past the range give what the CPU's
/// conversion gives, which is what Redis decodes a score that no GEOADD wrote with.
fn c_double_to_u64(d: f64) -> u64 {
    const TWO63: f64 = 9223372036854775808.0;
    if d.is_nan() {
        1 << 63
    } else if d < TWO63 {
        if d >= -TWO63 {
            d as i64 as u64
        } else {
            1 << 63
        }
    } else {
        let t = d - TWO63;
        if t < TWO63 {
            (t as i64 as u64) ^ (1 << 63)
        } else {
            0
        }
    }
}

/// x86-64's `(long long)` of a double: the "integer indefinite" value out of range.
fn c_double_to_i64(d: f64) -> i64 {
    const TWO63: f64 = 9223372036854775808.0;
    if (-TWO63..TWO63).contains(&d) {
        d as i64
    } else {
        i64::MIN
    }
}

/// Redis's decodeGeohash: the centre of a score's cell, clamped to the limits. Any score decodes.
fn decode_score(score: f64) -> [f64; 2] {
    let hash = Bits {
        bits: c_double_to_u64(score),
        step: STEP_MAX,
    };
    // A step of 26 is never the zeroed hash, so the decode always succeeds.
    let area = decode(GEO_LON, GEO_LAT, hash).unwrap_or_default();
    let lon = ((area.lon.min + area.lon.max) / 2.0).clamp(LON_MIN, LON_MAX);
    let lat = ((area.lat.min + area.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    [lon, lat]
}

fn move_x(h: &mut Bits, d: i8) {
    if d == 0 {
        return;
    }
    let mut x = h.bits & 0xaaaaaaaaaaaaaaaa;
    let y = h.bits & 0x5555555555555555;
    let zz = 0x5555555555555555u64 >> (64 - h.step as u32 * 2);
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaaaaaaaaaaaaaau64 >> (64 - h.step as u32 * 2);
    h.bits = x | y;
}

fn move_y(h: &mut Bits, d: i8) {
    if d == 0 {
        return;
    }
    let x = h.bits & 0xaaaaaaaaaaaaaaaa;
    let mut y = h.bits & 0x5555555555555555;
    let zz = 0xaaaaaaaaaaaaaaaau64 >> (64 - h.step as u32 * 2);
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555555555555555u64 >> (64 - h.step as u32 * 2);
    h.bits = x | y;
}

fn moved(h: Bits, dx: i8, dy: i8) -> Bits {
    let mut n = h;
    move_x(&mut n, dx);
    move_y(&mut n, dy);
    n
}

#[inline]
fn deg_rad(a: f64) -> f64 {
    a * D_R
}

#[inline]
fn rad_deg(a: f64) -> f64 {
    a / D_R
}

fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Haversine, as geohashGetDistance has it (with its shortcut for equal longitudes).
fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = deg_rad(lon1);
    let lon2r = deg_rad(lon2);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS * a.sqrt().asin()
}

fn estimate_steps(mut range: f64, lat: f64) -> u8 {
    if range == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Circle { radius: f64 },
    Box { width: f64, height: f64 },
}

/// The search area: its centre, its size in the caller's unit, and that unit in meters.
#[derive(Debug, Clone, Copy)]
struct Shape {
    lon: f64,
    lat: f64,
    kind: Kind,
    conversion: f64,
}

impl Shape {
    /// geohashBoundingBox: [min lon, min lat, max lon, max lat].
    fn bounds(&self) -> [f64; 4] {
        let (h, w) = match self.kind {
            Kind::Circle { radius } => (radius, radius),
            Kind::Box { width, height } => (height / 2.0, width / 2.0),
        };
        let height = self.conversion * h;
        let width = self.conversion * w;
        let lat_delta = rad_deg(height / EARTH_RADIUS);
        let lon_delta_top = rad_deg(width / EARTH_RADIUS / deg_rad(self.lat + lat_delta).cos());
        let lon_delta_bottom = rad_deg(width / EARTH_RADIUS / deg_rad(self.lat - lat_delta).cos());
        let south = self.lat < 0.0;
        let d = if south {
            lon_delta_bottom
        } else {
            lon_delta_top
        };
        [
            self.lon - d,
            self.lat - lat_delta,
            self.lon + d,
            self.lat + lat_delta,
        ]
    }

    /// geohashCalculateAreasByShapeWGS84: the centre cell and its eight neighbours, in Redis's search
    /// order (self, N, S, E, W, NE, NW, SE, SW), the useless ones zeroed.
    fn cells(&self) -> [Bits; 9] {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounds();
        let radius = match self.kind {
            Kind::Circle { radius } => radius,
            Kind::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        } * self.conversion;
        let mut steps = estimate_steps(radius, self.lat);
        let at = |steps: u8| encode_wgs84(self.lon, self.lat, steps).unwrap_or_default();
        let mut hash = at(steps);
        let dec = |h: Bits| decode(GEO_LON, GEO_LAT, h).unwrap_or_default();
        let north = dec(moved(hash, 0, 1));
        let south = dec(moved(hash, 0, -1));
        let east = dec(moved(hash, 1, 0));
        let west = dec(moved(hash, -1, 0));
        let decrease = north.lat.max < max_lat
            || south.lat.min > min_lat
            || east.lon.max < max_lon
            || west.lon.min > min_lon;
        if steps > 1 && decrease {
            steps -= 1;
            hash = at(steps);
        }
        let area = dec(hash);
        // Indexes into the result: 0 self, 1 N, 2 S, 3 E, 4 W, 5 NE, 6 NW, 7 SE, 8 SW.
        let mut n = [
            hash,
            moved(hash, 0, 1),
            moved(hash, 0, -1),
            moved(hash, 1, 0),
            moved(hash, -1, 0),
            moved(hash, 1, 1),
            moved(hash, -1, 1),
            moved(hash, 1, -1),
            moved(hash, -1, -1),
        ];
        if steps >= 2 {
            let zero = Bits::default();
            if area.lat.min < min_lat {
                for k in [2, 8, 7] {
                    n[k] = zero;
                }
            }
            if area.lat.max > max_lat {
                for k in [1, 5, 6] {
                    n[k] = zero;
                }
            }
            if area.lon.min < min_lon {
                for k in [4, 8, 6] {
                    n[k] = zero;
                }
            }
            if area.lon.max > max_lon {
                for k in [3, 7, 5] {
                    n[k] = zero;
                }
            }
        }
        n
    }

    /// geoWithinShape: the point's distance from the centre (meters) if it is inside.
    fn within(&self, xy: [f64; 2]) -> Option<f64> {
        match self.kind {
            Kind::Circle { radius } => {
                let d = distance(self.lon, self.lat, xy[0], xy[1]);
                // NaN (antipodes rounding past asin's domain) passes, as in Redis.
                if d > radius * self.conversion {
                    None
                } else {
                    Some(d)
                }
            }
            Kind::Box { width, height } => {
                let (w, h) = (width * self.conversion, height * self.conversion);
                if lat_distance(xy[1], self.lat) > h / 2.0 {
                    return None;
                }
                if distance(xy[0], xy[1], self.lon, xy[1]) > w / 2.0 {
                    return None;
                }
                Some(distance(self.lon, self.lat, xy[0], xy[1]))
            }
        }
    }
}

/// One match: a member of the searched set with its decoded position, distance and score.
struct Point<'a> {
    lon: f64,
    lat: f64,
    dist: f64,
    score: f64,
    member: &'a [u8],
}

/// membersOfAllNeighbors: every member of the cells inside the shape, cell by cell, stopping once
/// `limit` (0 for none) are found.
fn search<'a>(z: &'a ZSet, shape: &Shape, limit: usize) -> Vec<Point<'a>> {
    let cells = shape.cells();
    let mut found = Vec::new();
    let mut last = 0usize;
    let full = |found: &Vec<Point>| !found.is_empty() && limit != 0 && found.len() >= limit;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_zero() {
            continue;
        }
        // Huge radii make neighbours coincide; Redis skips a repeat of the cell it searched last.
        if last != 0 && *cell == cells[last] {
            continue;
        }
        if full(&found) {
            break;
        }
        let min = cell.align52() as f64;
        let max = Bits {
            bits: cell.bits + 1,
            step: cell.step,
        }
        .align52() as f64;
        let range = ScoreRange {
            min,
            max,
            minex: false,
            maxex: true,
        };
        if let Some(rank) = z.first_in_range(&range) {
            for (member, score) in z.iter_from(rank, false) {
                if !range.lte_max(score) {
                    break;
                }
                let xy = decode_score(score);
                if let Some(dist) = shape.within(xy) {
                    found.push(Point {
                        lon: xy[0],
                        lat: xy[1],
                        dist,
                        score,
                        member,
                    });
                }
                if full(&found) {
                    break;
                }
            }
        }
        last = i;
    }
    found
}

/// Redis's sort_gp_asc comparator, NaN and all.
fn cmp_asc(a: &Point, b: &Point) -> Ordering {
    if a.dist > b.dist {
        Ordering::Greater
    } else if a.dist == b.dist {
        Ordering::Equal
    } else {
        Ordering::Less
    }
}

fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> usize {
    if cmp(&v[a], &v[b]) == Ordering::Less {
        if cmp(&v[b], &v[c]) == Ordering::Less {
            b
        } else if cmp(&v[a], &v[c]) == Ordering::Less {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) == Ordering::Greater {
        b
    } else if cmp(&v[a], &v[c]) == Ordering::Less {
        a
    } else {
        c
    }
}

fn vecswap<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for k in 0..n {
        v.swap(a + k, b + k);
    }
}

/// Redis's pqsort (Bentley–McIlroy quicksort that skips the partitions outside ranks lo..=hi), move
/// for move, so elements that compare equal end up where Redis puts them.
fn pqsort<T>(v: &mut [T], lo: usize, hi: usize, cmp: &impl Fn(&T, &T) -> Ordering) {
    let n = v.len();
    pqsort_part(v, 0, n, lo, hi, cmp);
}

/// pqsort's body over `v[a..a + n]`; ranks stay absolute, as Redis's pointers do.
fn pqsort_part<T>(
    v: &mut [T],
    mut a: usize,
    mut n: usize,
    lo: usize,
    hi: usize,
    cmp: &impl Fn(&T, &T) -> Ordering,
) {
    // Whether the wanted ranks reach into v[s..s + len].
    let wanted = |s: usize, len: usize| !((lo < s && hi < s) || (lo >= s + len && hi >= s + len));
    loop {
        if n < 7 {
            for pm in a + 1..a + n {
                let mut pl = pm;
                while pl > a && cmp(&v[pl - 1], &v[pl]) == Ordering::Greater {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        // Signed: pc may step just below pb.
        let (mut pa, mut pb) = (a as isize + 1, a as isize + 1);
        let (mut pc, mut pd) = ((a + n - 1) as isize, (a + n - 1) as isize);
        loop {
            while pb <= pc {
                let r = cmp(&v[pb as usize], &v[a]);
                if r == Ordering::Greater {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pa as usize, pb as usize);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let r = cmp(&v[pc as usize], &v[a]);
                if r == Ordering::Less {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pc as usize, pd as usize);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb as usize, pc as usize);
            pb += 1;
            pc -= 1;
        }
        let pn = (a + n) as isize;
        let r = (pa - a as isize).min(pb - pa);
        vecswap(v, a, (pb - r) as usize, r as usize);
        let r = (pd - pc).min(pn - pd - 1);
        vecswap(v, pb as usize, (pn - r) as usize, r as usize);
        let left = (pb - pa) as usize;
        if left > 1 && wanted(a, left) {
            pqsort_part(v, a, left, lo, hi, cmp);
        }
        let right = (pd - pc) as usize;
        if right <= 1 {
            return;
        }
        a = pn as usize - right;
        n = right;
        if !wanted(a, n) {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Reply formatting and argument helpers.

/// Writes through a stack buffer (coordinates and distances are short).
struct StackBuf {
    buf: [u8; 400],
    len: usize,
}

impl StackBuf {
    fn new() -> StackBuf {
        StackBuf {
            buf: [0; 400],
            len: 0,
        }
    }

    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Write for StackBuf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = data.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&data[..n]);
        self.len += n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Redis's ld2string in LD_STR_HUMAN mode: `%.17Lf`, trailing zeros and dot trimmed, `-0` as `0`.
fn fmt_human(d: f64, out: &mut StackBuf) {
    if d.is_infinite() {
        let _ = out.write_all(if d > 0.0 { b"inf" } else { b"-inf" });
        return;
    }
    let _ = write!(out, "{d:.17}");
    let s = out.as_slice();
    let mut l = s.len();
    if s.contains(&b'.') {
        while l > 0 && s[l - 1] == b'0' {
            l -= 1;
        }
        if l > 0 && s[l - 1] == b'.' {
            l -= 1;
        }
    }
    out.len = l;
    if out.as_slice() == b"-0" {
        out.buf[0] = b'0';
        out.len = 1;
    }
}

/// addReplyHumanLongDouble: a bulk in RESP2, a double in RESP3.
fn reply_human(out: &mut crate::protocol::Out, d: f64) {
    let mut b = StackBuf::new();
    fmt_human(d, &mut b);
    if out.resp3 {
        out.raw(b",");
        out.raw(b.as_slice());
        out.raw(b"\r\n");
    } else {
        out.bulk(b.as_slice());
    }
}

/// Redis's fixedpoint_d2string with 4 digits: llrint of d * 10^4 (ties to even; the CPU's
/// LLONG_MIN when out of range), printed with the dot put back.
fn fmt_distance(d: f64, out: &mut StackBuf) {
    if d == 0.0 {
        let _ = out.write_all(b"0.0000");
        return;
    }
    let scaled = (d * 10000.0).round_ties_even();
    let sv: i64 = if (-9223372036854775808.0..9223372036854775808.0).contains(&scaled) {
        scaled as i64
    } else {
        i64::MIN
    };
    if sv < 0 {
        let _ = out.write_all(b"-");
    }
    let v = sv.unsigned_abs();
    let _ = write!(out, "{}.{:04}", v / 10000, v % 10000);
}

/// addReplyDoubleDistance: always a bulk string.
fn reply_distance(out: &mut crate::protocol::Out, d: f64) {
    let mut b = StackBuf::new();
    fmt_distance(d, &mut b);
    out.bulk(b.as_slice());
}

/// getDoubleFromObjectOrReply: Redis's strtod rules, `msg` as the error.
fn double_arg(a: &[u8], msg: &'static str) -> Result<f64, Error> {
    parse_score(a).ok_or_else(|| msg.into())
}

/// extractLongLatOrReply: longitude, latitude, inside the limits.
fn lonlat_arg(args: &Args, i: usize) -> Result<[f64; 2], Error> {
    let lon = double_arg(&args[i], ERR_NOT_FLOAT)?;
    let lat = double_arg(&args[i + 1], ERR_NOT_FLOAT)?;
    if !(LON_MIN..=LON_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return err(format!(
            "ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"
        ));
    }
    Ok([lon, lat])
}

/// extractUnitOrReply: meters per unit.
fn unit_arg(a: &[u8]) -> Result<f64, Error> {
    if eq_ci(a, b"m") {
        Ok(1.0)
    } else if eq_ci(a, b"km") {
        Ok(1000.0)
    } else if eq_ci(a, b"ft") {
        Ok(0.3048)
    } else if eq_ci(a, b"mi") {
        Ok(1609.34)
    } else {
        err(ERR_UNIT)
    }
}

/// extractDistanceOrReply: (radius, meters per unit).
fn radius_arg(args: &Args, i: usize) -> Result<(f64, f64), Error> {
    let r = double_arg(&args[i], ERR_RADIUS)?;
    if r < 0.0 {
        return err(ERR_RADIUS_NEG);
    }
    Ok((r, unit_arg(&args[i + 1])?))
}

/// extractBoxOrReply: (width, height, meters per unit).
fn box_arg(args: &Args, i: usize) -> Result<(f64, f64, f64), Error> {
    let w = double_arg(&args[i], ERR_WIDTH)?;
    let h = double_arg(&args[i + 1], ERR_HEIGHT)?;
    if h < 0.0 || w < 0.0 {
        return err(ERR_BOX_NEG);
    }
    Ok((w, h, unit_arg(&args[i + 2])?))
}

/// The sorted set at `key` for reading (a hit or miss counted), or WRONGTYPE.
fn lookup_zset(ctx: &mut Ctx, key: &[u8]) -> Result<Option<u32>, Error> {
    match read_lookup(ctx, key) {
        Some(i) => match &ctx.st.dbs[ctx.db].entry(i).val {
            Value::ZSet(_) => Ok(Some(i)),
            _ => err(ERR_WRONGTYPE),
        },
        None => Ok(None),
    }
}

fn zset_of(db: &Db, i: Option<u32>) -> Option<&ZSet> {
    match &db.entry(i?).val {
        Value::ZSet(z) => Some(z),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------------
// GEOADD.

/// GEOADD key [NX | XX] [CH] longitude latitude member [longitude latitude member ...]
///
/// Checks every pair, then runs ZADD with the encoded scores, replicated as that ZADD (Redis rewrites
/// the command the same way).
pub fn geoadd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut nx, mut xx) = (false, false);
    let mut first = 2;
    while first < args.len() {
        let a = &args[first];
        if eq_ci(a, b"nx") {
            nx = true;
        } else if eq_ci(a, b"xx") {
            xx = true;
        } else if !eq_ci(a, b"ch") {
            break;
        }
        first += 1;
    }
    if !(args.len() - first).is_multiple_of(3) || (xx && nx) {
        return err(ERR_SYNTAX);
    }
    let mut buf = Vec::with_capacity(args.len() * 16);
    let mut ranges = Vec::with_capacity(args.len());
    let mut push = |buf: &mut Vec<u8>, b: &[u8]| {
        let s = buf.len();
        buf.extend_from_slice(b);
        ranges.push((s, buf.len()));
    };
    push(&mut buf, b"zadd");
    for a in args.from(1).take(first - 1) {
        push(&mut buf, a);
    }
    let mut k = first;
    while k < args.len() {
        let [lon, lat] = lonlat_arg(args, k)?;
        // In range, the encode cannot fail.
        let bits = encode_wgs84(lon, lat, STEP_MAX)
            .unwrap_or_default()
            .align52();
        let mut tmp = [0u8; 20];
        push(&mut buf, crate::util::fmt_i64(bits as i64, &mut tmp));
        push(&mut buf, &args[k + 2]);
        k += 3;
    }
    let zargs = Args::new(&buf, &ranges);
    super::zset::zadd(ctx, &zargs)?;
    if matches!(ctx.prop, Propagate::AsIs) {
        ctx.prop = Propagate::args(zargs.iter());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// GEOPOS, GEOHASH, GEODIST.

/// GEOPOS key [member [member ...]]
pub fn geopos(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let i = lookup_zset(ctx, &args[1])?;
    let z = zset_of(&ctx.st.dbs[ctx.db], i);
    let out = &mut *ctx.out;
    out.array(args.len() - 2);
    for m in args.from(2) {
        match z.and_then(|z| z.score(m)) {
            Some(score) => {
                let [lon, lat] = decode_score(score);
                out.array(2);
                reply_human(out, lon);
                reply_human(out, lat);
            }
            None => out.null_array(),
        }
    }
    Ok(())
}

/// GEOHASH key [member [member ...]]
///
/// The standard geohash: the position re-encoded over latitudes [-90, 90] (the index uses
/// [-85.05, 85.05]), 10 base-32 characters of 52 bits and an 11th that is always `0`.
pub fn geohash(ctx: &mut Ctx, args: &Args) -> CmdResult {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let i = lookup_zset(ctx, &args[1])?;
    let z = zset_of(&ctx.st.dbs[ctx.db], i);
    let out = &mut *ctx.out;
    out.array(args.len() - 2);
    for m in args.from(2) {
        let Some(score) = z.and_then(|z| z.score(m)) else {
            out.null();
            continue;
        };
        let [lon, lat] = decode_score(score);
        let std_lat = Range {
            min: -90.0,
            max: 90.0,
        };
        let bits = encode(GEO_LON, std_lat, lon, lat, 26)
            .map(|b| b.bits)
            .unwrap_or(0);
        let mut s = [b'0'; 11];
        for (k, c) in s.iter_mut().take(10).enumerate() {
            *c = ALPHABET[((bits >> (52 - (k + 1) * 5)) & 0x1f) as usize];
        }
        out.bulk(&s);
    }
    Ok(())
}

/// GEODIST key member1 member2 [M | KM | FT | MI]
pub fn geodist(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let to_meter = match args.len() {
        5 => unit_arg(&args[4])?,
        n if n > 5 => return err(ERR_SYNTAX),
        _ => 1.0,
    };
    let i = lookup_zset(ctx, &args[1])?;
    let z = zset_of(&ctx.st.dbs[ctx.db], i);
    let out = &mut *ctx.out;
    let (Some(s1), Some(s2)) = (
        z.and_then(|z| z.score(&args[2])),
        z.and_then(|z| z.score(&args[3])),
    ) else {
        out.null();
        return Ok(());
    };
    let a = decode_score(s1);
    let b = decode_score(s2);
    reply_distance(out, distance(a[0], a[1], b[0], b[1]) / to_meter);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// GEORADIUS, GEORADIUSBYMEMBER, their _RO forms, GEOSEARCH, GEOSEARCHSTORE.

const COORDS: u32 = 1;
const MEMBER: u32 = 1 << 1;
const NOSTORE: u32 = 1 << 2;
const SEARCH: u32 = 1 << 3;
const SEARCHSTORE: u32 = 1 << 4;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// GEORADIUS key longitude latitude radius M | KM | FT | MI [WITHCOORD] [WITHDIST] [WITHHASH]
/// [COUNT count [ANY]] [ASC | DESC] [STORE key | STOREDIST key]
pub fn georadius(ctx: &mut Ctx, args: &Args) -> CmdResult {
    georadius_generic(ctx, args, 1, COORDS)
}

/// GEORADIUS_RO key longitude latitude radius M | KM | FT | MI [WITHCOORD] [WITHDIST] [WITHHASH]
/// [COUNT count [ANY]] [ASC | DESC]
pub fn georadius_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    georadius_generic(ctx, args, 1, COORDS | NOSTORE)
}

/// GEORADIUSBYMEMBER key member radius M | KM | FT | MI [WITHCOORD] [WITHDIST] [WITHHASH]
/// [COUNT count [ANY]] [ASC | DESC] [STORE key | STOREDIST key]
pub fn georadiusbymember(ctx: &mut Ctx, args: &Args) -> CmdResult {
    georadius_generic(ctx, args, 1, MEMBER)
}

/// GEORADIUSBYMEMBER_RO key member radius M | KM | FT | MI [WITHCOORD] [WITHDIST] [WITHHASH]
/// [COUNT count [ANY]] [ASC | DESC]
pub fn georadiusbymember_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    georadius_generic(ctx, args, 1, MEMBER | NOSTORE)
}

/// GEOSEARCH key FROMMEMBER member | FROMLONLAT longitude latitude
/// BYRADIUS radius M | KM | FT | MI | BYBOX width height M | KM | FT | MI [ASC | DESC]
/// [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]
pub fn geosearch(ctx: &mut Ctx, args: &Args) -> CmdResult {
    georadius_generic(ctx, args, 1, SEARCH)
}

/// GEOSEARCHSTORE destination source FROMMEMBER member | FROMLONLAT longitude latitude
/// BYRADIUS radius M | KM | FT | MI | BYBOX width height M | KM | FT | MI [ASC | DESC]
/// [COUNT count [ANY]] [STOREDIST]
pub fn geosearchstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    georadius_generic(ctx, args, 2, SEARCH | SEARCHSTORE)
}

/// Redis's georadiusGeneric: the source looked up (WRONGTYPE first), the centre and size, the options
/// in Redis's order of checks, then the search, the sort, and the reply or the stored result.
fn georadius_generic(ctx: &mut Ctx, args: &Args, src: usize, flags: u32) -> CmdResult {
    let found = lookup_zset(ctx, &args[src])?;
    let z = zset_of(&ctx.st.dbs[ctx.db], found);

    let mut store: Option<&[u8]> = None;
    let mut storedist = false;
    let mut center = [0.0f64; 2];
    let mut kind = Kind::Circle { radius: 0.0 };
    let mut conversion = 0.0;
    let base;
    if flags & COORDS != 0 {
        base = 6;
        center = lonlat_arg(args, 2)?;
        let (r, c) = radius_arg(args, 4)?;
        kind = Kind::Circle { radius: r };
        conversion = c;
    } else if flags & MEMBER != 0 {
        base = 5;
        // Without a source there is nothing to decode; the options are still read, for the reply.
        if let Some(z) = z {
            let s = z.score(&args[2]).ok_or(ERR_DECODE)?;
            center = decode_score(s);
            let (r, c) = radius_arg(args, 3)?;
            kind = Kind::Circle { radius: r };
            conversion = c;
        }
    } else {
        base = if flags & SEARCHSTORE != 0 {
            store = Some(&args[1]);
            3
        } else {
            2
        };
    }

    let (mut withdist, mut withhash, mut withcoord) = (false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut any = false;
    let mut count: i64 = 0;
    let is_search = flags & SEARCH != 0;
    let storable = flags & (NOSTORE | SEARCH) == 0;
    let remaining = args.len().saturating_sub(base);
    let mut i = 0;
    while i < remaining {
        let at = base + i;
        let a = &args[at];
        if eq_ci(a, b"withdist") {
            withdist = true;
        } else if eq_ci(a, b"withhash") {
            withhash = true;
        } else if eq_ci(a, b"withcoord") {
            withcoord = true;
        } else if eq_ci(a, b"any") {
            any = true;
        } else if eq_ci(a, b"asc") {
            sort = Sort::Asc;
        } else if eq_ci(a, b"desc") {
            sort = Sort::Desc;
        } else if eq_ci(a, b"count") && i + 1 < remaining {
            count = parse_i64(&args[at + 1]).ok_or(ERR_NOT_INT)?;
            if count <= 0 {
                return err(ERR_COUNT);
            }
            i += 1;
        } else if eq_ci(a, b"store") && i + 1 < remaining && storable {
            store = Some(&args[at + 1]);
            storedist = false;
            i += 1;
        } else if eq_ci(a, b"storedist") && i + 1 < remaining && storable {
            store = Some(&args[at + 1]);
            storedist = true;
            i += 1;
        } else if eq_ci(a, b"storedist") && is_search && flags & SEARCHSTORE != 0 {
            storedist = true;
        } else if eq_ci(a, b"frommember") && i + 1 < remaining && is_search && !fromloc {
            if let Some(z) = z {
                let s = z.score(&args[at + 1]).ok_or(ERR_DECODE)?;
                center = decode_score(s);
            }
            frommember = true;
            i += 1;
        } else if eq_ci(a, b"fromlonlat") && i + 2 < remaining && is_search && !frommember {
            center = lonlat_arg(args, at + 1)?;
            fromloc = true;
            i += 2;
        } else if eq_ci(a, b"byradius") && i + 2 < remaining && is_search && !bybox {
            let (r, c) = radius_arg(args, at + 1)?;
            kind = Kind::Circle { radius: r };
            conversion = c;
            byradius = true;
            i += 2;
        } else if eq_ci(a, b"bybox") && i + 3 < remaining && is_search && !byradius {
            let (w, h, c) = box_arg(args, at + 1)?;
            kind = Kind::Box {
                width: w,
                height: h,
            };
            conversion = c;
            bybox = true;
            i += 3;
        } else {
            return err(ERR_SYNTAX);
        }
        i += 1;
    }

    if store.is_some() && (withdist || withhash || withcoord) {
        let who = if flags & SEARCHSTORE != 0 {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return err(format!(
            "ERR {who} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        ));
    }
    if is_search && !(frommember || fromloc) {
        return err(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {}",
            String::from_utf8_lossy(&args[0])
        ));
    }
    if is_search && !(byradius || bybox) {
        return err(format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {}",
            String::from_utf8_lossy(&args[0])
        ));
    }
    if any && count == 0 {
        return err(ERR_ANY);
    }

    let Some(z) = z else {
        match store {
            Some(dst) => {
                let now = ctx.st.now;
                if ctx.st.dbs[ctx.db].remove(dst, now) {
                    ctx.dirty = Some(1);
                    notify(ctx, GENERIC, "del", dst);
                }
                ctx.out.int(0);
            }
            None => ctx.out.array(0),
        }
        return Ok(());
    };

    // COUNT alone means the nearest ones.
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let shape = Shape {
        lon: center[0],
        lat: center[1],
        kind,
        conversion,
    };
    let limit = if any {
        usize::try_from(count).unwrap_or(usize::MAX)
    } else {
        0
    };
    let mut points = search(z, &shape, limit);
    if points.is_empty() && store.is_none() {
        ctx.out.array(0);
        return Ok(());
    }
    let len = points.len();
    let returned = if count == 0 || (len as i64) < count {
        len
    } else {
        count as usize
    };
    if sort != Sort::None {
        let desc = sort == Sort::Desc;
        let cmp = |a: &Point, b: &Point| {
            let o = cmp_asc(a, b);
            if desc {
                o.reverse()
            } else {
                o
            }
        };
        if returned == len {
            points.sort_by(cmp);
        } else {
            pqsort(&mut points, 0, returned - 1, &cmp);
        }
    }
    points.truncate(returned);

    let Some(dst) = store else {
        let opts = withdist as usize + withhash as usize + withcoord as usize;
        let out = &mut *ctx.out;
        out.array(returned);
        for p in &points {
            if opts > 0 {
                out.array(opts + 1);
            }
            out.bulk(p.member);
            if withdist {
                reply_distance(out, p.dist / conversion);
            }
            if withhash {
                out.int(c_double_to_i64(p.score));
            }
            if withcoord {
                out.array(2);
                reply_human(out, p.lon);
                reply_human(out, p.lat);
            }
        }
        return Ok(());
    };

    let mut items: Vec<(Bytes, f64)> = points
        .iter()
        .map(|p| {
            let score = if storedist {
                p.dist / conversion
            } else {
                p.score
            };
            (Bytes::new(p.member), score)
        })
        .collect();
    drop(points);
    items.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.0.as_slice().cmp(b.0.as_slice()))
    });
    let now = ctx.st.now;
    let lim = Limits {
        entries: ctx.st.cfg.zset_max_listpack_entries,
        value: ctx.st.cfg.zset_max_listpack_value,
    };
    let db = &mut ctx.st.dbs[ctx.db];
    if items.is_empty() {
        if db.remove(dst, now) {
            ctx.dirty = Some(1);
            notify(ctx, GENERIC, "del", dst);
        }
    } else {
        // Redis counts each member stored.
        ctx.dirty = Some(items.len() as u64);
        db.set(
            dst,
            Value::ZSet(Box::new(ZSet::from_sorted(items, lim))),
            false,
            now,
        );
        ctx.signal_key(dst);
        let event = if is_search {
            "geosearchstore"
        } else {
            "georadiusstore"
        };
        notify(ctx, ZSET, event, dst);
    }
    ctx.out.int(returned as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c_fmt(fmt: &str, d: f64) -> String {
        let mut buf = [0u8; 512];
        let f = std::ffi::CString::new(fmt).unwrap_or_default();
        // SAFETY: the buffer is large enough for any %.17f of the values tested and snprintf bounds it.
        let n = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), f.as_ptr(), d) };
        String::from_utf8_lossy(&buf[..n.max(0) as usize]).into_owned()
    }

    #[test]
    fn human_format_matches_printf() {
        let mut rng = crate::util::Rng::new(7);
        let mut vals = vec![
            0.0,
            -0.0,
            1.5,
            85.05112878,
            -180.0,
            2f64.powi(-18),
            0.1,
            1e-20,
        ];
        for _ in 0..20000 {
            let r = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            vals.push(r * 360.0 - 180.0);
            vals.push(decode_score((rng.next_u64() & ((1 << 52) - 1)) as f64)[1]);
        }
        for d in vals {
            let mut b = StackBuf::new();
            fmt_human(d, &mut b);
            let c = c_fmt("%.17f", d);
            let mut want = c.trim_end_matches('0').trim_end_matches('.').to_string();
            if want == "-0" {
                want = "0".into();
            }
            assert_eq!(String::from_utf8_lossy(b.as_slice()), want, "{d}");
        }
    }

    #[test]
    fn known_scores() {
        // Palermo and Catania, from Redis's documentation.
        let p = encode_wgs84(13.361389, 38.115556, STEP_MAX)
            .unwrap()
            .align52();
        let c = encode_wgs84(15.087269, 37.502669, STEP_MAX)
            .unwrap()
            .align52();
        assert_eq!(p, 3479099956230698);
        assert_eq!(c, 3479447370796909);
        let a = decode_score(p as f64);
        let b = decode_score(c as f64);
        let mut s = StackBuf::new();
        fmt_distance(distance(a[0], a[1], b[0], b[1]), &mut s);
        assert_eq!(s.as_slice(), b"166274.1516");
    }

    #[test]
    fn pqsort_sorts_the_wanted_ranks() {
        let mut rng = crate::util::Rng::new(3);
        for n in 1..200usize {
            let v: Vec<u64> = (0..n).map(|_| rng.next_u64() % 50).collect();
            let mut sorted = v.clone();
            sorted.sort();
            let k = (rng.next_u64() as usize) % n;
            let mut p = v.clone();
            pqsort(&mut p, 0, k, &|a: &u64, b: &u64| a.cmp(b));
            assert_eq!(p[..=k], sorted[..=k], "n {n} k {k}");
        }
    }
}
