//! Key specs: Redis 7.0's description of where a command's keys are and how it uses them (read from the
//! Redis docs data), and the key extraction Redis does with them for COMMAND GETKEYS and GETKEYSANDFLAGS,
//! including the commands whose keys move (ZUNIONSTORE's numkeys, EVAL's...) and the two whose key flags
//! depend on the arguments (SET with GET, BITFIELD with a write).

use std::collections::HashMap;
use std::sync::OnceLock;

use super::{doc_index, resp_end, resp_header};

// Key-spec flags in the order Redis prints them.
pub const RO: u32 = 1;
pub const RW: u32 = 1 << 1;
pub const OW: u32 = 1 << 2;
pub const RM: u32 = 1 << 3;
pub const ACCESS: u32 = 1 << 4;
pub const UPDATE: u32 = 1 << 5;
pub const INSERT: u32 = 1 << 6;
pub const DELETE: u32 = 1 << 7;
pub const NOT_KEY: u32 = 1 << 8;
pub const INCOMPLETE: u32 = 1 << 9;
pub const VARIABLE_FLAGS: u32 = 1 << 10;

pub const FLAG_NAMES: &[(u32, &str)] = &[
    (RO, "RO"),
    (RW, "RW"),
    (OW, "OW"),
    (RM, "RM"),
    (ACCESS, "access"),
    (UPDATE, "update"),
    (INSERT, "insert"),
    (DELETE, "delete"),
    (NOT_KEY, "not_key"),
    (INCOMPLETE, "incomplete"),
    (VARIABLE_FLAGS, "variable_flags"),
];

#[derive(Debug, Clone, PartialEq)]
enum Begin {
    Index(i64),
    Keyword { keyword: String, startfrom: i64 },
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
enum Find {
    Range {
        lastkey: i64,
        keystep: i64,
        limit: i64,
    },
    Keynum {
        keynumidx: i64,
        firstkey: i64,
        keystep: i64,
    },
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeySpec {
    pub flags: u32,
    begin: Begin,
    find: Find,
}

/// A RESP value of the docs data, as far as key specs use them.
#[derive(Debug)]
enum Val {
    Str(String),
    Int(i64),
    List(Vec<Val>),
    Map(Vec<(String, Val)>),
}

impl Val {
    fn get(&self, key: &str) -> Option<&Val> {
        match self {
            Val::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn int(&self, key: &str) -> i64 {
        match self.get(key) {
            Some(Val::Int(n)) => *n,
            _ => 0,
        }
    }

    fn str(&self, key: &str) -> &str {
        match self.get(key) {
            Some(Val::Str(s)) => s,
            _ => "",
        }
    }
}

/// Parses the RESP value at `pos` (strings, integers, arrays, sets and maps).
fn parse(b: &[u8], pos: usize) -> Option<Val> {
    let end = resp_end(b, pos)?;
    let line_end = pos + b[pos..].windows(2).position(|w| w == b"\r\n")?;
    let head = std::str::from_utf8(&b[pos + 1..line_end]).ok()?;
    Some(match b[pos] {
        b'+' => Val::Str(head.to_string()),
        b':' => Val::Int(head.parse().ok()?),
        b'$' => {
            let body = &b[line_end + 2..end - 2];
            Val::Str(String::from_utf8_lossy(body).into_owned())
        }
        b'*' | b'~' => {
            let (n, mut p) = resp_header(b, pos)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(parse(b, p)?);
                p = resp_end(b, p)?;
            }
            Val::List(v)
        }
        b'%' => {
            let (n, mut p) = resp_header(b, pos)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let Val::Str(k) = parse(b, p)? else {
                    return None;
                };
                p = resp_end(b, p)?;
                v.push((k, parse(b, p)?));
                p = resp_end(b, p)?;
            }
            Val::Map(v)
        }
        _ => return None,
    })
}

fn spec_from(v: &Val) -> Option<KeySpec> {
    let mut flags = 0;
    if let Some(Val::List(fs)) = v.get("flags") {
        for f in fs {
            if let Val::Str(name) = f {
                if let Some((bit, _)) = FLAG_NAMES.iter().find(|(_, n)| n == name) {
                    flags |= bit;
                }
            }
        }
    }
    let bs = v.get("begin_search")?;
    let bspec = bs.get("spec")?;
    let begin = match bs.str("type") {
        "index" => Begin::Index(bspec.int("index")),
        "keyword" => Begin::Keyword {
            keyword: bspec.str("keyword").to_string(),
            startfrom: bspec.int("startfrom"),
        },
        _ => Begin::Unknown,
    };
    let fk = v.get("find_keys")?;
    let fspec = fk.get("spec")?;
    let find = match fk.str("type") {
        "range" => Find::Range {
            lastkey: fspec.int("lastkey"),
            keystep: fspec.int("keystep"),
            limit: fspec.int("limit"),
        },
        "keynum" => Find::Keynum {
            keynumidx: fspec.int("keynumidx"),
            firstkey: fspec.int("firstkey"),
            keystep: fspec.int("keystep"),
        },
        _ => Find::Unknown,
    };
    Some(KeySpec { flags, begin, find })
}

/// The key specs of a command (`get`, `config|get`) as Redis 7.0 declares them; None if Redis has no
/// record of it.
pub fn key_specs(fullname: &str) -> Option<&'static [KeySpec]> {
    static CACHE: OnceLock<HashMap<&'static str, Vec<KeySpec>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| {
        let mut m = HashMap::new();
        for (&name, d) in doc_index() {
            let specs = match parse(d.key_specs, 0) {
                Some(Val::List(l)) => l.iter().filter_map(spec_from).collect(),
                _ => Vec::new(),
            };
            m.insert(name, specs);
        }
        m
    });
    cache.get(fullname).map(|v| v.as_slice())
}

/// Redis's doesCommandHaveKeys: a key extraction function, or a key spec that is about real keys.
pub fn has_keys(fullname: &str, specs: &[KeySpec]) -> bool {
    has_getkeys_proc(fullname) || specs.iter().any(|s| s.flags & NOT_KEY == 0)
}

/// Commands Redis gives a key extraction function of its own (`get_keys_function`).
fn has_getkeys_proc(fullname: &str) -> bool {
    matches!(
        fullname,
        "bitfield"
            | "blmpop"
            | "bzmpop"
            | "eval"
            | "eval_ro"
            | "evalsha"
            | "evalsha_ro"
            | "fcall"
            | "fcall_ro"
            | "georadius"
            | "georadiusbymember"
            | "lmpop"
            | "migrate"
            | "set"
            | "sintercard"
            | "sort"
            | "sort_ro"
            | "xread"
            | "xreadgroup"
            | "zdiff"
            | "zdiffstore"
            | "zinter"
            | "zintercard"
            | "zinterstore"
            | "zmpop"
            | "zunion"
            | "zunionstore"
    )
}

/// Redis's getKeysUsingKeySpecs: (position, flags) of each key of `argv` (the command name first), or
/// None when a spec does not fit the arguments (a bad numkeys, too few arguments, an incomplete spec).
fn keys_by_specs(specs: &[KeySpec], argv: &[&[u8]]) -> Option<Vec<(usize, u32)>> {
    let argc = argv.len() as i64;
    let mut keys = Vec::new();
    for spec in specs {
        if spec.flags & NOT_KEY != 0 {
            continue;
        }
        let mut first = match &spec.begin {
            Begin::Index(pos) => *pos,
            Begin::Keyword { keyword, startfrom } => {
                let start = if *startfrom > 0 {
                    *startfrom
                } else {
                    argc + startfrom
                };
                let end = if *startfrom > 0 { argc - 1 } else { 1 };
                let mut i = start;
                let mut found = 0;
                while i != end {
                    if i >= argc || i < 1 {
                        break;
                    }
                    if argv[i as usize].eq_ignore_ascii_case(keyword.as_bytes()) {
                        found = i + 1;
                        break;
                    }
                    i = if start <= end { i + 1 } else { i - 1 };
                }
                if found == 0 {
                    continue;
                }
                found
            }
            Begin::Unknown => return None,
        };
        let (last, step) = match &spec.find {
            Find::Range {
                lastkey,
                keystep,
                limit,
            } => {
                let last = if *lastkey >= 0 {
                    first + lastkey
                } else if *limit == 0 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit + lastkey)
                };
                (last, *keystep)
            }
            Find::Keynum {
                keynumidx,
                firstkey,
                keystep,
            } => {
                if *keynumidx >= argc {
                    return None;
                }
                let at = usize::try_from(first + keynumidx).ok()?;
                let n = crate::util::parse_i64(argv.get(at)?).filter(|&n| n >= 0)?;
                first += firstkey;
                (first + n - 1, *keystep)
            }
            Find::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc || step <= 0 {
            return None;
        }
        let mut i = first;
        while i <= last {
            keys.push((i as usize, spec.flags));
            i += step;
        }
        if spec.flags & INCOMPLETE != 0 {
            return None;
        }
    }
    Some(keys)
}

/// Redis's getKeysFromCommandWithSpecs for `argv` (command name first): the specs when they are reliable,
/// else the command's own extraction (which, for the ones ferrokv has, finds nothing where the specs
/// failed, except SET and BITFIELD, whose flags depend on the arguments).
pub fn command_keys(fullname: &str, specs: &[KeySpec], argv: &[&[u8]]) -> Vec<(usize, u32)> {
    let real = specs.iter().any(|s| s.flags & NOT_KEY == 0);
    let varflags = specs.iter().any(|s| s.flags & VARIABLE_FLAGS != 0);
    if real && !varflags {
        if let Some(k) = keys_by_specs(specs, argv) {
            return k;
        }
    }
    match fullname {
        "set" => {
            let get = argv.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get"));
            vec![(
                1,
                if get {
                    RW | ACCESS | UPDATE
                } else {
                    OW | UPDATE
                },
            )]
        }
        "bitfield" => {
            let mut readonly = true;
            let mut i = 2;
            while i < argv.len() {
                let rem = argv.len() - i - 1;
                let a = argv[i];
                if a.eq_ignore_ascii_case(b"get") && rem >= 2 {
                    i += 3;
                } else if (a.eq_ignore_ascii_case(b"set") || a.eq_ignore_ascii_case(b"incrby"))
                    && rem >= 3
                {
                    readonly = false;
                    break;
                } else if a.eq_ignore_ascii_case(b"overflow") && rem >= 1 {
                    i += 2;
                } else {
                    readonly = false;
                    break;
                }
            }
            let f = if readonly {
                RO | ACCESS
            } else {
                RW | ACCESS | UPDATE
            };
            vec![(1, f)]
        }
        "sort" => {
            // Redis's sortGetKeys: skips LIMIT's two and GET's and BY's one argument; the last STORE wins
            // (and its key is not skipped, so `STORE STORE k` names k).
            let mut keys = vec![(1, RO | ACCESS)];
            let mut store = None;
            let mut i = 2;
            while i < argv.len() {
                let a = argv[i];
                if a.eq_ignore_ascii_case(b"limit") {
                    i += 2;
                } else if a.eq_ignore_ascii_case(b"store") && i + 1 < argv.len() {
                    store = Some(i + 1);
                } else if a.eq_ignore_ascii_case(b"get") || a.eq_ignore_ascii_case(b"by") {
                    i += 1;
                }
                i += 1;
            }
            keys.extend(store.map(|p| (p, OW | UPDATE)));
            keys
        }
        "sort_ro" => vec![(1, RO | ACCESS)],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(name: &str, argv: &[&str]) -> Vec<(usize, u32)> {
        let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        command_keys(name, key_specs(name).unwrap(), &argv)
    }

    #[test]
    fn specs_find_fixed_and_moving_keys() {
        assert_eq!(keys("get", &["get", "k"]), vec![(1, RO | ACCESS)]);
        assert_eq!(
            keys("mset", &["mset", "a", "1", "b", "2"]),
            vec![(1, OW | UPDATE), (3, OW | UPDATE)]
        );
        assert_eq!(
            keys("zunionstore", &["zunionstore", "d", "2", "a", "b"])
                .iter()
                .map(|k| k.0)
                .collect::<Vec<_>>(),
            vec![1, 3, 4]
        );
        assert_eq!(
            keys("zunionstore", &["zunionstore", "d", "3", "a", "b"]),
            vec![]
        );
        assert_eq!(keys("eval", &["eval", "s", "0"]), vec![]);
        assert_eq!(keys("eval", &["eval", "s", "1", "k"]).len(), 1);
        assert_eq!(keys("set", &["set", "k", "v"]), vec![(1, OW | UPDATE)]);
        assert_eq!(
            keys("set", &["set", "k", "v", "get"]),
            vec![(1, RW | ACCESS | UPDATE)]
        );
        assert_eq!(
            keys("bitfield", &["bitfield", "k", "get", "u8", "0"]),
            vec![(1, RO | ACCESS)]
        );
        assert!(has_keys("eval", key_specs("eval").unwrap()));
        assert!(!has_keys("ping", key_specs("ping").unwrap()));
    }
}
