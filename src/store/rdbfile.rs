//! Whole RDB files, as Redis 7.0 writes them (`rdbSaveRio`) and reads them (`rdbLoadRio`): the `REDIS0010`
//! magic, AUX fields, then per non-empty database SELECTDB and RESIZEDB, and per key its deadline
//! (EXPIRETIME_MS), its idle time under an LRU policy (IDLE) or its access counter under LFU (FREQ), the object type, the key and the object, then
//! EOF and a CRC64 of everything before it (zero when `rdbchecksum` is off). Each value's bytes come from
//! `store::rdb`, the encoder DUMP uses, so a file is what Redis would write for the same data.
//!
//! Function libraries go between the AUX fields and the databases, one FUNCTION2 opcode and the library's
//! code each (`rdbSaveFunctions`); FUNCTION DUMP's payload is the same records.
//!
//! Loading takes every opcode Redis 7.0 writes and every object format `store::rdb` reads (so files of
//! older versions too); it refuses what it cannot represent (module types and module data) rather than
//! drop it.

use std::io::{self, Write};

use super::db::lru_clock;
use super::rdb::{self, crc64, save_len, save_string, Limits, LoadError};
use super::value::Value;
use super::Db;

const OP_FUNCTION2: u8 = 0xF5;
const OP_FUNCTION: u8 = 0xF6;
const OP_MODULE_AUX: u8 = 0xF7;
const OP_IDLE: u8 = 0xF8;
const OP_FREQ: u8 = 0xF9;
const OP_AUX: u8 = 0xFA;
const OP_RESIZEDB: u8 = 0xFB;
const OP_EXPIRETIME_MS: u8 = 0xFC;
const OP_EXPIRETIME: u8 = 0xFD;
const OP_SELECTDB: u8 = 0xFE;
const OP_EOF: u8 = 0xFF;

/// What a save needs besides the data.
pub struct SaveOpts<'a> {
    /// Unix ms: keys whose deadline has passed are left out, and `ctime` says when the file was made.
    pub now: u64,
    pub version: &'a str,
    pub used_mem: u64,
    /// `list-max-listpack-size`, which decides how lists are cut into quicklist nodes.
    pub list_fill: i64,
    /// Write the CRC64 trailer (`rdbchecksum`); without it the trailer is zero.
    pub checksum: bool,
    /// Write each key's idle time (under an LRU `maxmemory-policy`, as Redis does).
    pub save_lru: bool,
    /// Microseconds to sleep per key (`rdb-key-save-delay`), for tests that need a slow save.
    pub key_delay_us: i64,
    /// The code of each loaded function library.
    pub functions: Vec<Vec<u8>>,
}

/// A writer that keeps the running CRC64 of what passed through it.
struct Sink<W: Write> {
    w: W,
    crc: u64,
    checksum: bool,
}

impl<W: Write> Sink<W> {
    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        if self.checksum {
            self.crc = crc64(self.crc, b);
        }
        self.w.write_all(b)
    }
}

/// Writes the whole dataset as an RDB file to `w`; returns the number of keys written.
pub fn save<W: Write>(w: W, dbs: &[Db], opts: &SaveOpts) -> io::Result<u64> {
    let mut sink = Sink {
        w,
        crc: 0,
        checksum: opts.checksum,
    };
    let mut buf = Vec::with_capacity(4096);
    buf.extend_from_slice(format!("REDIS{:04}", rdb::RDB_VERSION).as_bytes());
    aux(&mut buf, b"redis-ver", opts.version.as_bytes());
    aux(&mut buf, b"redis-bits", b"64");
    aux(&mut buf, b"ctime", (opts.now / 1000).to_string().as_bytes());
    aux(&mut buf, b"used-mem", opts.used_mem.to_string().as_bytes());
    aux(&mut buf, b"aof-base", b"0");
    save_functions(&mut buf, &opts.functions);
    sink.put(&buf)?;
    let clock = lru_clock(opts.now);
    let mut keys = 0u64;
    let mut obj = Vec::new();
    for (id, db) in dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        buf.clear();
        buf.push(OP_SELECTDB);
        save_len(&mut buf, id as u64);
        buf.push(OP_RESIZEDB);
        save_len(&mut buf, db.len() as u64);
        save_len(&mut buf, db.expires_len() as u64);
        sink.put(&buf)?;
        let mut res = Ok(());
        db.for_each(opts.now, |e| {
            if res.is_err() {
                return;
            }
            buf.clear();
            if e.expire != 0 {
                buf.push(OP_EXPIRETIME_MS);
                buf.extend_from_slice(&e.expire.to_le_bytes());
            }
            if opts.save_lru {
                buf.push(OP_IDLE);
                save_len(&mut buf, clock.wrapping_sub(e.lru) as u64);
            } else if super::db::lfu_on() {
                buf.push(OP_FREQ);
                buf.push(super::db::lfu_counter(e.lru, opts.now) as u8);
            }
            obj.clear();
            rdb::save_object(&mut obj, &e.val, opts.list_fill);
            // The object starts with its one-byte type; the key goes between the two.
            buf.push(obj[0]);
            save_string(&mut buf, e.key.as_slice());
            res = sink.put(&buf).and_then(|_| sink.put(&obj[1..]));
            keys += 1;
            if opts.key_delay_us > 0 {
                std::thread::sleep(std::time::Duration::from_micros(opts.key_delay_us as u64));
            }
        });
        res?;
    }
    sink.put(&[OP_EOF])?;
    let crc = if opts.checksum { sink.crc } else { 0 };
    sink.w.write_all(&crc.to_le_bytes())?;
    sink.w.flush()?;
    Ok(keys)
}

/// One FUNCTION2 record per library: the opcode and the library's code.
pub fn save_functions(buf: &mut Vec<u8>, codes: &[Vec<u8>]) {
    for code in codes {
        buf.push(OP_FUNCTION2);
        save_string(buf, code);
    }
}

/// Reads the function record that follows opcode `t` at `*pos` (Redis's `rdbFunctionLoad`): the library's
/// code, with 7.0-rc's FUNCTION records (name, engine, description, body) turned into the code they stand
/// for. `Ok(None)`: `t` is no function opcode. The error is Redis's text.
pub fn read_function(t: u8, buf: &[u8], pos: &mut usize) -> Result<Option<Vec<u8>>, &'static str> {
    let mut s = |e| {
        rdb::read_string(buf, pos)
            .map(|s| s.into_owned())
            .map_err(|_| e)
    };
    match t {
        OP_FUNCTION2 => s("Failed loading library payload").map(Some),
        OP_FUNCTION => {
            let name = s("Failed loading library name")?;
            let engine = s("Failed loading engine name")?;
            let has_desc = rdb::read_len(buf, pos)
                .map_err(|_| "Failed loading library description indicator")?;
            if has_desc != 0 {
                rdb::read_string(buf, pos).map_err(|_| "Failed loading library description")?;
            }
            let blob = rdb::read_string(buf, pos).map_err(|_| "Failed loading library blob")?;
            let mut code = b"#!".to_vec();
            code.extend_from_slice(&engine);
            code.extend_from_slice(b" name=");
            code.extend_from_slice(&name);
            code.push(b'\n');
            code.extend_from_slice(&blob);
            Ok(Some(code))
        }
        _ => Ok(None),
    }
}

fn aux(buf: &mut Vec<u8>, key: &[u8], val: &[u8]) {
    buf.push(OP_AUX);
    save_string(buf, key);
    save_string(buf, val);
}

/// What loading needs besides the bytes.
pub struct LoadOpts {
    /// Encoding limits for rebuilt values.
    pub lim: Limits,
    /// Unix ms: keys whose deadline has passed are skipped, as Redis's loader does on a master.
    pub now: u64,
    /// Check the CRC64 trailer (`rdbchecksum`); a zero trailer means the file was saved without one.
    pub checksum: bool,
    /// A key already present is replaced (DEBUG RELOAD MERGE); otherwise it is an error.
    pub replace: bool,
}

/// What a load did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    pub keys: u64,
    pub expired: u64,
    /// The file's RDB version.
    pub version: u32,
}

/// Reading position in a file held in memory; every read is bounds-checked.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

const SHORT: &str = "Short read or OOM loading DB. Unrecoverable error, aborting now.";

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.buf.len() - self.pos {
            return Err(SHORT.into());
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn len(&mut self) -> Result<u64, String> {
        rdb::read_len(self.buf, &mut self.pos).map_err(|_| SHORT.to_string())
    }

    fn string(&mut self) -> Result<std::borrow::Cow<'a, [u8]>, String> {
        rdb::read_string(self.buf, &mut self.pos).map_err(|_| SHORT.to_string())
    }
}

/// Loads an RDB file held in `buf` into `dbs`, and the code of its function libraries into `functions`.
/// The error is the reason, worded as Redis logs it; the databases then hold whatever was loaded before
/// the fault.
pub fn load(
    buf: &[u8],
    dbs: &mut [Db],
    functions: &mut Vec<Vec<u8>>,
    opts: &LoadOpts,
) -> Result<Loaded, String> {
    let mut c = Cursor { buf, pos: 0 };
    let magic = c.take(9).map_err(|_| SHORT.to_string())?;
    if &magic[..5] != b"REDIS" {
        return Err("Wrong signature trying to load DB from file".into());
    }
    let version = std::str::from_utf8(&magic[5..])
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    if version < 1 || version > rdb::RDB_VERSION as u32 {
        return Err(format!("Can't handle RDB format version {version}"));
    }
    let mut done = Loaded {
        version,
        ..Loaded::default()
    };
    let mut db = 0usize;
    let (mut expire, mut idle): (Option<u64>, Option<u64>) = (None, None);
    let mut freq: Option<u8> = None;
    let clock = lru_clock(opts.now);
    loop {
        let t = c.byte()?;
        match t {
            OP_EXPIRETIME => {
                let b = c.take(4)?;
                let secs = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                expire = Some((secs as i64 * 1000) as u64);
                continue;
            }
            OP_EXPIRETIME_MS => {
                let b = c.take(8)?;
                let mut w = [0u8; 8];
                w.copy_from_slice(b);
                expire = Some(u64::from_le_bytes(w));
                continue;
            }
            OP_FREQ => {
                freq = Some(c.byte()?);
                continue;
            }
            OP_IDLE => {
                idle = Some(c.len()?);
                continue;
            }
            OP_EOF => break,
            OP_SELECTDB => {
                let id = c.len()?;
                if id >= dbs.len() as u64 {
                    return Err(format!(
                        "FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting",
                        dbs.len()
                    ));
                }
                db = id as usize;
                continue;
            }
            OP_RESIZEDB => {
                c.len()?;
                c.len()?;
                continue;
            }
            OP_AUX => {
                let k = c.string()?;
                let v = c.string()?;
                log_aux(&k, &v, opts.now);
                continue;
            }
            OP_MODULE_AUX => {
                return Err(
                    "The RDB file contains AUX module data I can't load: no matching module".into(),
                )
            }
            OP_FUNCTION | OP_FUNCTION2 => {
                match read_function(t, c.buf, &mut c.pos) {
                    Ok(Some(code)) => functions.push(code),
                    Ok(None) => {}
                    Err(e) => return Err(format!("Failed loading library, {e}")),
                }
                continue;
            }
            _ => {}
        }
        let key = c.string()?;
        let val = match rdb::read_value(t, buf, &mut c.pos, &opts.lim) {
            Ok(v) => v,
            Err(LoadError::Format | LoadError::Footer) => {
                return Err(if known_type(t) {
                    format!(
                        "Bad data format loading key '{}' (type {t}) at offset {}",
                        String::from_utf8_lossy(&key),
                        c.pos
                    )
                } else {
                    format!("Unknown RDB encoding type {t}")
                });
            }
        };
        if expire.is_some_and(|at| at < opts.now) {
            done.expired += 1;
        } else {
            // Redis's objectSetLRUOrLFU: the frequency under an LFU policy, else the idle time.
            let stamp = if super::db::lfu_on() {
                freq.map(|f| super::db::lfu_stamp(f as u32, opts.now))
            } else {
                idle.map(|idle| clock.wrapping_sub(idle.min(u32::MAX as u64) as u32))
            };
            add(&mut dbs[db], &key, val, expire, stamp, opts)?;
            done.keys += 1;
        }
        (expire, idle, freq) = (None, None, None);
    }
    if version >= 5 {
        let eof = c.pos;
        let b = c.take(8)?;
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        let got = u64::from_le_bytes(w);
        if opts.checksum {
            if got == 0 {
                log::warn!("RDB file was saved with checksum disabled: no check performed.");
            } else {
                let expected = crc64(0, &buf[..eof]);
                if got != expected {
                    return Err(format!(
                        "Wrong RDB checksum expected: ({expected:x}) but got ({got:x}). Aborting now."
                    ));
                }
            }
        }
    }
    Ok(done)
}

/// Object types Redis 7.0 defines for keys (module types included, which this server refuses).
fn known_type(t: u8) -> bool {
    matches!(t, 0..=7 | 9..=21)
}

fn add(
    db: &mut Db,
    key: &[u8],
    val: Value,
    expire: Option<u64>,
    stamp: Option<u32>,
    opts: &LoadOpts,
) -> Result<(), String> {
    if let Some(i) = db.find_raw(key) {
        if !opts.replace {
            return Err(format!(
                "RDB has duplicated key '{}': Duplicated key found in RDB file",
                String::from_utf8_lossy(key)
            ));
        }
        db.remove_at(i);
    }
    let i = db.insert_new(key, val, opts.now);
    if let Some(at) = expire {
        db.set_expire(i, at);
    }
    if let Some(stamp) = stamp {
        db.entry_mut(i).lru = stamp;
    }
    Ok(())
}

/// Logs the AUX fields Redis logs at startup.
fn log_aux(k: &[u8], v: &[u8], now: u64) {
    let v = String::from_utf8_lossy(v);
    match k {
        b"redis-ver" => log::info!("Loading RDB produced by version {v}"),
        b"ctime" => {
            let age = (now / 1000) as i64 - v.parse::<i64>().unwrap_or(0);
            log::info!("RDB age {} seconds", age.max(0));
        }
        b"used-mem" => {
            let m = v.parse::<f64>().unwrap_or(0.0);
            log::info!(
                "RDB memory usage when created {:.2} Mb",
                m / (1024.0 * 1024.0)
            );
        }
        _ if k.first() == Some(&b'%') => {
            log::info!("RDB '{}': {v}", String::from_utf8_lossy(k))
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{hash, zset};

    fn lim() -> Limits {
        Limits {
            hash: hash::Limits {
                entries: 128,
                value: 64,
            },
            zset: zset::Limits {
                entries: 128,
                value: 64,
            },
            set_max_intset: 512,
            list_fill: -2,
        }
    }

    fn opts(now: u64) -> SaveOpts<'static> {
        SaveOpts {
            now,
            version: "7.0.15",
            used_mem: 1000,
            list_fill: -2,
            checksum: true,
            save_lru: false,
            key_delay_us: 0,
            functions: Vec::new(),
        }
    }

    fn load_opts(now: u64) -> LoadOpts {
        LoadOpts {
            lim: lim(),
            now,
            checksum: true,
            replace: false,
        }
    }

    #[test]
    fn round_trip_with_expiry_and_dbs() {
        let now = 1_700_000_000_000;
        let mut dbs: Vec<Db> = (0..4).map(|_| Db::new(1)).collect();
        dbs[0].insert_new(b"a", Value::from_bytes(b"hello"), now);
        dbs[0].insert_new(b"n", Value::Int(12345678901), now);
        let i = dbs[2].insert_new(b"t", Value::from_bytes(b"x"), now);
        dbs[2].set_expire(i, now + 5000);
        let mut file = Vec::new();
        assert_eq!(save(&mut file, &dbs, &opts(now)).unwrap(), 3);
        assert!(file.starts_with(b"REDIS0010"));
        let mut back: Vec<Db> = (0..4).map(|_| Db::new(2)).collect();
        let got = load(&file, &mut back, &mut Vec::new(), &load_opts(now)).unwrap();
        assert_eq!((got.keys, got.expired), (3, 0));
        assert_eq!(back[0].len(), 2);
        assert_eq!(back[2].peek_deadline(b"t"), Some(now + 5000));
        // Past the deadline the key is skipped.
        let mut later: Vec<Db> = (0..4).map(|_| Db::new(2)).collect();
        let got = load(&file, &mut later, &mut Vec::new(), &load_opts(now + 6000)).unwrap();
        assert_eq!((got.keys, got.expired), (2, 1));
        // Too few databases, a flipped byte, a cut file: refused.
        let mut two: Vec<Db> = (0..2).map(|_| Db::new(2)).collect();
        assert!(load(&file, &mut two, &mut Vec::new(), &load_opts(now)).is_err());
        let mut bad = file.clone();
        let n = bad.len();
        bad[n - 12] ^= 1;
        let mut fresh: Vec<Db> = (0..4).map(|_| Db::new(2)).collect();
        assert!(load(&bad, &mut fresh, &mut Vec::new(), &load_opts(now)).is_err());
        for cut in 0..file.len() {
            let mut fresh: Vec<Db> = (0..4).map(|_| Db::new(2)).collect();
            assert!(
                load(&file[..cut], &mut fresh, &mut Vec::new(), &load_opts(now)).is_err(),
                "{cut}"
            );
        }
    }

    #[test]
    fn duplicate_keys_are_refused_unless_replacing() {
        let now = 1_700_000_000_000;
        let mut dbs: Vec<Db> = (0..1).map(|_| Db::new(1)).collect();
        dbs[0].insert_new(b"k", Value::from_bytes(b"new"), now);
        let mut file = Vec::new();
        save(&mut file, &dbs, &opts(now)).unwrap();
        let mut into: Vec<Db> = (0..1).map(|_| Db::new(1)).collect();
        into[0].insert_new(b"k", Value::from_bytes(b"old"), now);
        assert!(load(&file, &mut into, &mut Vec::new(), &load_opts(now)).is_err());
        let mut o = load_opts(now);
        o.replace = true;
        load(&file, &mut into, &mut Vec::new(), &o).unwrap();
        assert_eq!(into[0].len(), 1);
    }
}
