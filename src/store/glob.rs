//! Redis-compatible glob matching: the one place that decides whether a key, channel or
//! config name matches a user pattern (KEYS, SCAN MATCH, CONFIG GET, PUBSUB CHANNELS,
//! PSUBSCRIBE).
//!
//! Clients rely on Redis's exact answers, including its oddities, so this reproduces Redis
//! 7.0.15's `stringmatchlen()` behaviour byte for byte (checked differentially against a
//! real `redis-server` 7.0.15 on x86-64). The quirks kept on purpose:
//!
//! * An empty string matches only the empty pattern, so `*` does not match `""`. Redis hides
//!   this in KEYS and SCAN by skipping the matcher when the pattern is exactly `*`; callers
//!   that want the same must do likewise. PSUBSCRIBE has no such shortcut: a message
//!   published to `""` does not reach a `*` subscriber.
//! * An unterminated class runs to the end of the pattern: `[ab` is `[ab]`, `[^` matches any
//!   single byte, and a lone trailing `[` matches nothing.
//! * `[]` matches nothing and `[^]` matches any byte, because `]` right after `[` (or `[^`)
//!   closes the class instead of being a member.
//! * In a class, `x-y` is a range whenever two more bytes follow `x`, even if the end is `]`:
//!   `[a-]` is the range `]`..=`a`, and the class stays open after it.
//! * A reversed range is swapped. With `nocase` the swap happens before the ends are folded
//!   to lower case, so `[Z-a]` matches nothing and `[A-z]` loses ``[\]^_` `` when folding.
//! * Range ends and the tested byte compare as C `char`, which is signed on x86-64, so bytes
//!   0x80..=0xFF sort below 0x00: `[a-\xff]` matches `\x00`..=`a` and 0xFF but not `b`.
//! * `\x` inside a class compares `x` case-sensitively even with `nocase`.
//! * A pattern ending in a lone `\` (inside or outside a class) matches a literal `\`.
//! * Matching gives up (no match) once it has to descend past more than 1000 `*` groups,
//!   Redis's guard against deep recursion on abusive patterns (added in 7.0.15).
//!
//! Redis backtracks recursively but stops early once a `*` has failed at every position
//! (`skipLongerMatches`). The loop here keeps only the latest `*` as a backtrack point,
//! which answers identically: every non-`*` token consumes exactly one byte and its extent
//! in the pattern does not depend on the string, so once a later `*` is reached, letting an
//! earlier `*` absorb more bytes can only restart that later `*` further right, where it has
//! already failed. That makes matching O(pattern * string) and free of recursion.

/// Redis 7.0.15 reports no match once more than this many `*` groups are nested in one
/// match; kept so pathological patterns answer exactly as Redis does.
const MAX_STAR_NESTING: usize = 1000;

/// Redis glob: `*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\x` escapes; `nocase` folds ASCII case.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    // Redis's matching loop only runs while both sides have input left, so an empty string
    // never reaches the code that lets trailing `*`s match nothing.
    if string.is_empty() {
        return pattern.is_empty();
    }
    let mut p = 0;
    let mut s = 0;
    // Pattern index just after the latest `*` group, and where in the string the text it
    // hands to the rest of the pattern currently starts.
    let mut star: Option<(usize, usize)> = None;
    let mut stars_seen = 0;
    loop {
        if s == string.len() {
            while pattern.get(p) == Some(&b'*') {
                p += 1;
            }
            // Restarting an earlier `*` further right would run out of string even sooner.
            return p == pattern.len();
        }
        if p < pattern.len() {
            if pattern[p] == b'*' {
                while pattern.get(p) == Some(&b'*') {
                    p += 1;
                }
                if p == pattern.len() {
                    return true;
                }
                stars_seen += 1;
                if stars_seen > MAX_STAR_NESTING {
                    return false;
                }
                star = Some((p, s));
                continue;
            }
            let (next, matched) = match_token(pattern, p, string[s], nocase);
            if matched {
                p = next;
                s += 1;
                continue;
            }
        }
        match star {
            // Redis never offers an empty remainder to the rest of the pattern; it could not
            // match anyway, since that rest starts with a token needing one byte.
            Some((after_star, start)) if start + 1 < string.len() => {
                star = Some((after_star, start + 1));
                p = after_star;
                s = start + 1;
            }
            _ => return false,
        }
    }
}

/// Matches the single-byte token at `pattern[p]` (anything but `*`) against `c`, returning
/// the index just past the token and whether it matched.
fn match_token(pattern: &[u8], p: usize, c: u8, nocase: bool) -> (usize, bool) {
    match pattern[p] {
        b'?' => (p + 1, true),
        b'[' => match_class(pattern, p + 1, c, nocase),
        b'\\' if p + 1 < pattern.len() => (p + 2, bytes_eq(pattern[p + 1], c, nocase)),
        literal => (p + 1, bytes_eq(literal, c, nocase)),
    }
}

/// Matches a bracket class whose body starts at `pattern[i]` (just after the `[`).
fn match_class(pattern: &[u8], mut i: usize, c: u8, nocase: bool) -> (usize, bool) {
    let negate = pattern.get(i) == Some(&b'^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    let next = loop {
        let left = pattern.len() - i;
        match pattern.get(i) {
            None => break pattern.len(),
            Some(b'\\') if left >= 2 => {
                // Redis skips case folding for escaped class members.
                matched |= pattern[i + 1] == c;
                i += 2;
            }
            Some(b']') => break i + 1,
            Some(&first) if left >= 3 && pattern[i + 1] == b'-' => {
                let (mut lo, mut hi) = (as_c_char(first), as_c_char(pattern[i + 2]));
                if lo > hi {
                    std::mem::swap(&mut lo, &mut hi);
                }
                let mut ch = as_c_char(c);
                if nocase {
                    (lo, hi, ch) = (c_tolower(lo), c_tolower(hi), c_tolower(ch));
                }
                matched |= lo <= ch && ch <= hi;
                i += 3;
            }
            Some(&member) => {
                matched |= bytes_eq(member, c, nocase);
                i += 1;
            }
        }
    };
    (next, matched != negate)
}

fn bytes_eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// Redis orders range ends as C `char`, which is signed on x86-64 (its main platform), so
/// high bytes sort below ASCII; mirrored so non-ASCII ranges select the same keys.
fn as_c_char(b: u8) -> i8 {
    b as i8
}

/// `tolower()` in the C locale Redis runs in: ASCII letters only.
fn c_tolower(c: i8) -> i8 {
    (c as u8).to_ascii_lowercase() as i8
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    /// (pattern, string, nocase, expected). Case-sensitive rows were checked one by one with
    /// KEYS on redis-server 7.0.15; Redis only folds case when matching fixed names, so the
    /// `nocase` rules were checked by fuzzing COMMAND LIST FILTERBY PATTERN instead.
    const CASES: &[(&[u8], &[u8], bool, bool)] = &[
        // Literals and empties.
        (b"", b"", false, true),
        (b"", b"a", false, false),
        (b"a", b"", false, false),
        (b"abc", b"abc", false, true),
        (b"abc", b"abd", false, false),
        (b"abc", b"ab", false, false),
        (b"ab", b"abc", false, false),
        // `*`.
        (b"*", b"", false, false),
        (b"**", b"", false, false),
        (b"*", b"anything", false, true),
        (b"a*", b"a", false, true),
        (b"a*", b"abc", false, true),
        (b"a*", b"ba", false, false),
        (b"*a", b"a", false, true),
        (b"*a", b"bba", false, true),
        (b"*a", b"ab", false, false),
        (b"a*c", b"ac", false, true),
        (b"a*c", b"abbbc", false, true),
        (b"a*c", b"abcb", false, false),
        (b"a***c", b"abc", false, true),
        (b"a**", b"a", false, true),
        (b"*b*", b"abc", false, true),
        (b"*b*", b"ac", false, false),
        (b"*ab*ab", b"abxab", false, true),
        (b"*ab*ab", b"abab", false, true),
        (b"*ab*ab", b"aba", false, false),
        // `?`.
        (b"?", b"a", false, true),
        (b"?", b"", false, false),
        (b"?", b"ab", false, false),
        (b"a?c", b"abc", false, true),
        (b"??", b"\xff\x00", false, true),
        (b"*?", b"a", false, true),
        (b"?*", b"a", false, true),
        // Classes.
        (b"[abc]", b"b", false, true),
        (b"[abc]", b"d", false, false),
        (b"[^abc]", b"d", false, true),
        (b"[^abc]", b"a", false, false),
        (b"[a-c]", b"b", false, true),
        (b"[a-c]", b"d", false, false),
        (b"[c-a]", b"b", false, true),
        (b"[c-a]", b"d", false, false),
        (b"[^a-c]", b"d", false, true),
        (b"[a-cx-z]", b"y", false, true),
        (b"[-a]", b"-", false, true),
        (b"[a-]", b"-", false, false),
        (b"[a-]", b"]", false, true),
        (b"[a-]", b"_", false, true),
        (b"[a-]", b"b", false, false),
        (b"[a-]b", b"b", false, true),
        (b"[]", b"a", false, false),
        (b"[]", b"]", false, false),
        (b"[]a]", b"]", false, false),
        (b"[]a]", b"a]", false, false),
        (b"[^]", b"x", false, true),
        (b"[^]", b"]", false, true),
        (b"[\\]]", b"]", false, true),
        (b"[\\^a]", b"^", false, true),
        (b"[\\-]", b"-", false, true),
        (b"[\\a-z]", b"-", false, true),
        (b"[\\a-z]", b"m", false, false),
        (b"[a\\]", b"\\", false, false),
        (b"[a\\]", b"]", false, true),
        (b"[a-\\]", b"^", false, true),
        (b"[^^]", b"^", false, false),
        (b"[*?]", b"*", false, true),
        (b"[*]", b"a", false, false),
        // Unterminated classes run to the end of the pattern.
        (b"[", b"[", false, false),
        (b"a[", b"a", false, false),
        (b"[ab", b"b", false, true),
        (b"[ab", b"c", false, false),
        (b"[^", b"x", false, true),
        (b"a[^", b"ab", false, true),
        (b"[^ab", b"c", false, true),
        (b"[a-", b"-", false, true),
        (b"[a-", b"b", false, false),
        (b"[\\", b"\\", false, true),
        // Escapes outside classes.
        (b"\\*", b"*", false, true),
        (b"\\*", b"a", false, false),
        (b"\\?", b"?", false, true),
        (b"\\?", b"a", false, false),
        (b"\\[a]", b"[a]", false, true),
        (b"\\a", b"a", false, true),
        (b"\\\\", b"\\", false, true),
        (b"a\\", b"a\\", false, true),
        (b"a\\", b"a", false, false),
        (b"\\", b"\\", false, true),
        (b"*\\*", b"ab*", false, true),
        (b"*\\*", b"ab", false, false),
        // Arbitrary bytes, and the signed-char ordering of range ends.
        (b"\xff*\x00", b"\xff\x80\x00", false, true),
        (b"[\x80-\xff]", b"\x90", false, true),
        (b"[\x80-\xff]", b"a", false, false),
        (b"[a-\xff]", b"\xff", false, true),
        (b"[a-\xff]", b"\x00", false, true),
        (b"[a-\xff]", b"b", false, false),
        (b"[a-\xff]", b"\x80", false, false),
        // Case folding.
        (b"ABC", b"abc", false, false),
        (b"ABC", b"abc", true, true),
        (b"a*C", b"AbC", true, true),
        (b"[A-C]", b"b", true, true),
        (b"[a-c]", b"B", true, true),
        (b"[a-c]", b"B", false, false),
        (b"[^B]", b"b", true, false),
        (b"\\G", b"g", true, true),
        (b"[\\G]", b"g", true, false),
        (b"[\\g]", b"g", true, true),
        (b"[Z-a]", b"z", true, false),
        (b"[Z-a]", b"_", true, false),
        (b"[Z-a]", b"_", false, true),
        (b"[A-z]", b"[", true, false),
        (b"[A-z]", b"[", false, true),
        (b"\xc4", b"\xe4", true, false),
    ];

    #[test]
    fn table() {
        for &(pattern, string, nocase, expected) in CASES {
            assert_eq!(
                glob_match(pattern, string, nocase),
                expected,
                "pattern {:?} string {:?} nocase {nocase}",
                String::from_utf8_lossy(pattern),
                String::from_utf8_lossy(string),
            );
        }
    }

    #[test]
    fn pathological_patterns_finish() {
        let long_a = vec![b'a'; 20_000];
        let stars = b"a*".repeat(40);
        let mut no_b = stars.clone();
        no_b.push(b'b');
        assert!(!glob_match(&no_b, &long_a, false));
        let mut ends_a = stars.clone();
        ends_a.push(b'a');
        assert!(glob_match(&ends_a, &long_a, false));

        let classes = b"*[ab]*?*\\a".repeat(30);
        let mut no_c = classes.clone();
        no_c.push(b'c');
        assert!(!glob_match(&no_c, &long_a, false));
        assert!(glob_match(&classes, &long_a, true));
    }

    #[test]
    fn star_nesting_limit_matches_redis() {
        let long_a = vec![b'a'; 2_100];
        let with_tail = |groups: usize| {
            let mut p = b"a*".repeat(groups);
            p.push(b'a');
            p
        };
        assert!(glob_match(&with_tail(1000), &long_a, false));
        assert!(!glob_match(&with_tail(1001), &long_a, false));
        // A trailing `*` is accepted before Redis would descend another level.
        assert!(glob_match(&b"a*".repeat(1001), &long_a, false));
    }
}
