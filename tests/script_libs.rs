//! Redis's Lua libraries (cjson, cmsgpack, struct, bit): EVAL scripts compared byte for byte with a real
//! redis-server where one is installed (a fixed table, then generated JSON, MessagePack, struct formats and
//! bit operands), and a sweep of hostile inputs that must leave the server answering.

mod common;

use common::{start_redis, Rng, TestServer};

/// Scripts whose replies must match Redis's exactly (EVAL script 0). Configuration changes stay on
/// `cjson.new()` tables except where the global table is the point (then they run last).
const SCRIPTS: &[&str] = &[
    "return bit.tobit(0xffffffff)",
    "return {bit.tobit(2^32+5), bit.bnot(0), bit.band(0xff, 0x0f, 0x3), bit.bor(1,2,4), bit.bxor(7, 2)}",
    "return {bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.bswap(0x12345678)}",
    "return {bit.tohex(255), bit.tohex(-1, -4), bit.tohex(0xabcdef, 3), bit.tohex(1, 0), bit.tohex(1, 20), bit.tohex(1, -2147483648)}",
    "return bit.tobit('12')",
    "return bit.tobit('x')",
    "return bit.band(1, nil)",
    "return bit.tohex(1, nil)",
    "return {pcall(bit.bor)}",
    "return {bit.tobit(1.5), bit.tobit(2.5), bit.tobit(-0.5), bit.tobit(1e100), bit.tobit(0/0)}",
    "return cjson.encode({1,2,3,{a=1}})",
    "return cjson.encode({a=\"x/y\\\"\\\\\\n\\t\\1\\127é\"})",
    "return cjson.encode({})",
    "return cjson.encode({[1]=1,[2]=2,[20]=3})",
    "return cjson.encode({[1]=1,[2]=2,[5]=3})",
    "return cjson.encode({[1]=1,[2]=2,[11]=3, [12]=4})",
    "return cjson.encode({0.1, 1/3, 1e20, -1e-20, 123456789012345, 2^53, -0.0, 3.0})",
    "return cjson.encode(1/0)",
    "return cjson.encode(0/0)",
    "local t = {} t[1] = t return cjson.encode(t)",
    "local t = {} t.a = t return cjson.encode(t)",
    "return cjson.encode({[true]=1})",
    "return cjson.encode(function() end)",
    "return cjson.encode()",
    "return cjson.encode(1, 2)",
    "return cjson.encode({1.5, \"a\", true, false, cjson.null})",
    "return cjson.encode({a={b={c={d={1,2,{x=\"y\"}}}}}, z=3, [1.5]=2})",
    "local t = cjson.decode('{\"a\":[1,2,3,{\"b\":null}],\"c\":\"\\\\u00e9\\\\ud83d\\\\ude00\\\\/\",\"d\":-1.5e3,\"e\":true,\"f\":false}') return {t.a[1], t.a[4].b == cjson.null, t.c, t.d, t.e, t.f == false}",
    "return cjson.decode('[1,2')",
    "return cjson.decode('{\"a\" 1}')",
    "return cjson.decode('{1:2}')",
    "return cjson.decode('[1,]')",
    "return cjson.decode('')",
    "return cjson.decode('  ')",
    "return cjson.decode('\"abc')",
    "return cjson.decode('\"\\\\x\"')",
    "return cjson.decode('\"\\\\ud800\"')",
    "return cjson.decode('[1] x')",
    "return cjson.decode('nul')",
    "return {cjson.decode('0x10'), cjson.decode('+5'), cjson.decode('010'), cjson.decode('-0')}",
    "return tostring(cjson.decode('Infinity'))..tostring(cjson.decode('-nan'))..tostring(cjson.decode('1e400'))",
    "return cjson.decode(string.rep('[', 1001) .. string.rep(']', 1001))",
    "return #cjson.encode(cjson.decode(string.rep('[', 1000) .. string.rep(']', 1000)))",
    "return cjson.decode('a\\0b')",
    "return cjson.decode('1\\0abc')",
    "return cjson.decode('-')",
    "return cjson.decode(123)",
    "return cjson.decode()",
    "return {cjson.encode_max_depth(), cjson.decode_max_depth(), cjson.encode_number_precision(), cjson.encode_keep_buffer(), cjson.encode_invalid_numbers(), cjson.decode_invalid_numbers()}",
    "return {cjson.encode_sparse_array()}",
    "local c = cjson.new() c.encode_number_precision(3) c.encode_invalid_numbers('null') return {c.encode({1/3, 1/0}), cjson.encode(1/3)}",
    "local c = cjson.new() return {c.encode_invalid_numbers(true), c.encode(1/0), c.encode(0/0), c.encode(-1/0)}",
    "local c = cjson.new() c.encode_sparse_array(true) return c.encode({[1]=1,[20]=2})",
    "local c = cjson.new() c.decode_invalid_numbers(false) return c.decode('0x10')",
    "local c = cjson.new() c.decode_invalid_numbers(false) return c.decode('[NaN]')",
    "cjson.foo = 1",
    "return {cjson._NAME, cjson._VERSION, cmsgpack._NAME, cmsgpack._VERSION, cmsgpack._COPYRIGHT, cmsgpack._DESCRIPTION}",
    "return type(cjson.null)",
    "return cmsgpack.pack({1,2,3})",
    "return cmsgpack.pack({a=1, b={1,2}}, \"x\", 1.5, 0.1, -1, -33, 200, 70000, 2^33, -2^33, true, false, nil)",
    "return cmsgpack.pack({})",
    "return cmsgpack.pack()",
    "return cmsgpack.pack(string.rep('x', 40), string.rep('y', 300), string.rep('z', 70000)):sub(1, 50)",
    "local t = {} t[1] = t return cmsgpack.pack(t)",
    "return {cmsgpack.unpack(cmsgpack.pack({1,2,{a=3}}, \"x\", 1.5, -5))}",
    "local a, b, c = cmsgpack.unpack(cmsgpack.pack({1,2,{a=3}}, \"x\", 1.5)) return {a[3].a, b, tostring(c)}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 5, 1)}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0)}",
    "return {cmsgpack.unpack_one('abc', -1)}",
    "return {cmsgpack.unpack_one('abc', 9)}",
    "return cmsgpack.unpack('\\196')",
    "return cmsgpack.unpack('\\146\\1')",
    "return cmsgpack.unpack(string.char(0x81, 0xc0, 1))",
    "return cmsgpack.unpack()",
    "return {cmsgpack.unpack(string.char(0xcf, 255,255,255,255,255,255,255,255, 0xd3, 128,0,0,0,0,0,0,0, 0xca, 0x3f, 0xc0, 0, 0))}",
    "return struct.pack('>i2<I4bBhHlLTfdc3s', 1, 2, -3, 250, -1000, 60000, -5, 5, 7, 1.5, 2.25, 'abcdef', 'zz')",
    "return {struct.unpack('>i2<I4bBhHlLTfdc3s', struct.pack('>i2<I4bBhHlLTfdc3s', 1, 2, -3, 250, -1000, 60000, -5, 5, 7, 1.5, 2.25, 'abcdef', 'zz'))}",
    "return {struct.size('!4bi'), struct.size('>!8bd'), struct.size('bhq')}",
    "return struct.size('s')",
    "return struct.size('c0')",
    "return struct.pack('!3i', 1)",
    "return struct.pack('i33', 1)",
    "return struct.pack('c5', 'ab')",
    "return struct.pack('i', 'x')",
    "return {struct.unpack('c0', '3abc')}",
    "return {struct.unpack('bc0', '\\3abc')}",
    "return {struct.unpack('i', 'ab')}",
    "return {struct.unpack('b', 'ab', 0)}",
    "return {struct.unpack('b', 'ab', 2)}",
    "return {struct.unpack('s', 'ab')}",
    "return {struct.unpack('!4bi', struct.pack('!4bi', 1, 2))}",
    "return struct.pack('>i16', -2)",
    "return {struct.unpack('>i16', struct.pack('>i16', -2))}",
    "return {struct.unpack('<i9', string.rep('\\255', 9))}",
    "return struct.pack('i99999999999', 1)",
    "local t = {} for i = 1, 50 do t['k'..i] = i end return cjson.encode(t)",
    "local t = {} for i = 1, 50 do t[i*3] = i end t.x = 1 return cjson.encode(t)",
    "return cjson.encode({[2^31]=1, [1]=2})",
    "return cjson.encode({[2^31]=1})",
    "return cjson.encode({[1/0]=1})",
    "return cjson.encode({[-1]=1, [0]=2})",
    "local t = {} for i = 1, 50 do t['k'..i] = {i, tostring(i)} end return cmsgpack.pack(t)",
    "local t = {} for i = 1, 20 do t[i] = i * 1.5 end t[25] = 1 return cmsgpack.pack(t)",
    "local t = {1, 2, nil, 4} return cmsgpack.pack(t)",
    "local t = {} for i=1,20 do t = {t} end return cmsgpack.pack(t)",
    "local t = {} for i=1,20 do t = {a=t} end return cmsgpack.pack(t)",
    "return #{cmsgpack.unpack(string.rep('\\1', 7998))}",
    "return #{cmsgpack.unpack(string.rep('\\1', 8000))}",
    "return cmsgpack.unpack(string.rep('\\145', 5000) .. '\\1')",
    "return cmsgpack.unpack(string.rep('\\129\\1', 5000) .. '\\1')",
    "return #{cmsgpack.unpack_limit(string.rep('\\1', 9000), 7999)}",
    "return #{struct.unpack(string.rep('b', 7998), string.rep('a', 8000))}",
    "return cmsgpack.unpack(string.char(0xdd, 255, 255, 255, 255))",
    "return cmsgpack.unpack(string.char(0xdb, 0, 0, 0, 9, 1))",
    "return cmsgpack.unpack(string.char(0xd9, 5, 1))",
    "return cmsgpack.unpack(string.char(0xc1))",
    "return {cmsgpack.unpack(string.char(0xca, 0x7f, 0x80, 0, 0, 0xcb, 0x7f, 0xf8, 0,0,0,0,0,1))}",
    "return cmsgpack.pack(1/0, -1/0, 0/0, 2^63, -2^63, 2^64, 1e300, 1e-300, -0.0, 0.5)",
    "return cmsgpack.pack(4294967295, 4294967296, -2147483648, -2147483649, 65535, 65536, -32768, -32769, 127, 128, 255, 256, -128, -129)",
    "return {cmsgpack.unpack(cmsgpack.pack(4294967295, 4294967296, -2147483648, -2147483649, 65535, 65536, -32768, -32769, 127, 128, 255, 256, -128, -129, -32, -33))}",
    "return {cmsgpack.unpack(string.char(0xd0, 0x80, 0xd1, 0x80, 0, 0xd2, 0x80, 0, 0, 0))}",
    "local t = cmsgpack.unpack(string.char(0x82, 0xa1, 0x61, 1, 0x01, 0x92, 1, 2)) return {t.a, t[1][2]}",
    "return cjson.encode(cmsgpack.unpack(cmsgpack.pack({a={1,2,{b=\"c\"}}, d=1.25})))",
    "return struct.pack('<!4 b i b d', 1, 2, 3, 4.5)",
    "return struct.pack('!b')",
    "return struct.pack('!0b', 1)",
    "return struct.pack('>L', 2^64, 0/0)",
    "return {struct.pack('>L', 2^64), struct.pack('>L', 0/0), struct.pack('>l',-2^70), struct.pack('>L', 2^63+4096), struct.pack('b', 300), struct.pack('B', -1), struct.pack('i0', 5)}",
    "return {struct.unpack('>L', string.rep('\\255', 8))}",
    "return {struct.unpack('>l', string.rep('\\255', 8))}",
    "return {struct.unpack('>I3 >i3', '\\255\\255\\255\\255\\255\\255')}",
    "return {struct.unpack('<f>f', struct.pack('<f>f', 1.1, -3.5))}",
    "return {struct.unpack('i', 'abcd', -1)}",
    "return struct.pack('q', 1)",
    "return struct.size('!16')",
    "return {struct.size('x!4i'), struct.size('qz')}",
    "return struct.pack('s', 'a\\0b')",
    "return {struct.unpack('c2', 'abc', 2)}",
    "return {struct.unpack('c2', 'abc', 3)}",
    "return struct.pack('i', 1.9)",
    "return {struct.pack('i', -1.9), struct.pack('I', -1)}",
    "return struct.unpack('i', 'abcd', 'x')",
    "return struct.pack()",
    "return cjson.encode({[\"a\\0b\"]=\"\\0\"})",
    "return cjson.decode('\"a\\\\u0000b\"')",
    "return cjson.decode('[\"\\\\u0041\\\\u00ff\\\\u0800\\\\uffff\"]')[1]",
    "return cjson.decode('\"\\\\udc00\"')",
    "return cjson.decode('\"\\\\ud800\\\\u0041\"')",
    "return cjson.decode('\"\\\\u12\"')",
    "return cjson.decode('{\"a\":1,\"a\":2}').a",
    "return cjson.decode('  [ 1 , 2 ]  ')[2]",
    "return cjson.decode('[1e5, 1E-2, 0.5e+1, 12345678901234567890]')[4]",
    "return cjson.encode(cjson.decode('[1e5, 1E-2, 0.5e+1, 12345678901234567890, 1.7976931348623157e308, 5e-324]'))",
    "return cjson.encode({1e15, 1e14, 123456789012345678, 0.000012345, 1e-5})",
    "return cjson.decode('tru')",
    "return cjson.decode('[true false]')",
    "return cjson.decode('{\"a\":1 \"b\"}')",
    "return cjson.decode('{\"a\":1,}')",
    "return cjson.decode('\\1')",
    "return cjson.decode('\\255')",
    "return cjson.decode('\"\\255\"')",
    "return cjson.decode('[-inf]')",
    "return cjson.decode('[0x]')",
    "return cjson.decode('[.5]')",
    "return cjson.decode('[-.5]')[1]",
    "return cjson.decode('[1.]')[1]",
    "return cjson.decode('[0x1p4]')[1]",
    "return cjson.decode('[nan(abc)]')",
    "return cjson.decode('[infinit]')",
    "return {pcall(cjson.decode, '[')}",
    "local ok, e = pcall(cmsgpack.unpack, '\\146') return e",
    "local ok, e = pcall(struct.pack, 'q') return e",
    "local f = cjson.encode return f()",
    "local s = 'i' return s:rep(2) .. struct.size(s)",
    "struct.x = 1",
    "rawset(bit, 'x', 1)",
    "setmetatable(cmsgpack, {})",
    "return cjson.encode(redis.call('ping'))",
    "return cjson.encode({redis.call('ping')})",
    "return cjson.new().new().encode({1})",
    "return cjson.new(1, 2).decode('1')",
];

/// Global cjson configuration, which lasts until SCRIPT FLUSH, as in Redis.
const CONFIG_SCRIPTS: &[&str] = &[
    "return {cjson.encode_max_depth(), cjson.decode_max_depth(), cjson.encode_number_precision(), cjson.encode_keep_buffer(), cjson.encode_invalid_numbers(), cjson.decode_invalid_numbers()}",
    "return {cjson.encode_sparse_array()}",
    "return cjson.encode_number_precision(15)",
    "return cjson.encode_sparse_array(true, 'x')",
    "return {cjson.encode_sparse_array()}",
    "return cjson.encode({[1]=1,[2]=2,[20]=3})",
    "return cjson.encode_sparse_array(1, 2, 3, 4)",
    "return cjson.encode_invalid_numbers('maybe')",
    "return {cjson.encode_keep_buffer(false), cjson.encode_keep_buffer('on'), cjson.encode_keep_buffer(0)}",
    "return {cjson.encode_invalid_numbers('null'), cjson.encode(0/0), cjson.encode_invalid_numbers(false)}",
    "return cjson.encode_sparse_array(nil, -1)",
    "return cjson.encode_sparse_array(nil, 'a')",
    "return cjson.encode_max_depth(0)",
    "return cjson.encode_max_depth(2^32+5)",
    "return cjson.encode_max_depth(1000)",
    // The Lua C stack (8000 slots) limits nesting once the depth limits are raised.
    "cjson.encode_max_depth(100000) local t = {} t[1] = t return cjson.encode(t)",
    "cjson.encode_max_depth(100000) local t = {} t.a = t return cjson.encode(t)",
    "cjson.decode_max_depth(100000) return #cjson.encode(cjson.decode(string.rep('[', 9000)))",
    "cjson.decode_max_depth(100000) return cjson.decode(string.rep('{\"a\":', 9000))",
    "return {cjson.encode_max_depth(5), cjson.decode_max_depth(3)}",
    "return cjson.encode({{{{{{1}}}}}})",
    "return cjson.decode('[[[[1]]]]')",
    "script flush",
    "return cjson.encode({{{{{{1}}}}}})",
];

/// Runs each request (script + args) on both servers and collects the replies that differ.
fn compare(requests: &mut dyn Iterator<Item = Vec<Vec<u8>>>) {
    let Some(redis) = start_redis() else {
        return;
    };
    let ours = TestServer::start(&[]);
    let (mut a, mut b) = (ours.raw(), redis.raw());
    let mut bad = Vec::new();
    let mut n = 0;
    for req in requests {
        n += 1;
        let args: Vec<&[u8]> = req.iter().map(|v| v.as_slice()).collect();
        let (x, y) = (a.cmd(&args), b.cmd(&args));
        if x != y && bad.len() < 10 {
            bad.push(format!(
                "{:?}\n  redis:   {:?}\n  ferrokv: {:?}",
                req.iter()
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .collect::<Vec<_>>(),
                String::from_utf8_lossy(&y),
                String::from_utf8_lossy(&x)
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {n} differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

fn eval(script: &str, args: &[&[u8]]) -> Vec<Vec<u8>> {
    if script == "script flush" {
        return vec![b"script".to_vec(), b"flush".to_vec()];
    }
    let mut v = vec![b"eval".to_vec(), script.as_bytes().to_vec(), b"0".to_vec()];
    v.extend(args.iter().map(|a| a.to_vec()));
    v
}

#[test]
fn library_scripts_match_redis() {
    compare(&mut SCRIPTS.iter().map(|s| eval(s, &[])));
}

#[test]
fn cjson_configuration_matches_redis() {
    compare(&mut CONFIG_SCRIPTS.iter().map(|s| eval(s, &[])));
}

/// Decodes ARGV[1] and shows the result three ways (errors as text).
const JSON_ROUND_TRIP: &str =
    "local ok, v = pcall(cjson.decode, ARGV[1]) if not ok then return 'E:'..v end \
    local ok2, e = pcall(cjson.encode, v) return {ok2 and 'ok' or 'E2', e, cmsgpack.pack(v)}";

/// Unpacks ARGV[1] and repacks every value. Tables used as keys are skipped: their order follows memory
/// addresses, in Redis as here.
const MSGPACK_ROUND_TRIP: &str = "local function tk(v, d) if type(v) ~= 'table' or d > 20 then return false end \
    for k, x in pairs(v) do if type(k) == 'table' or tk(x, d + 1) then return true end end return false end \
    local r = {pcall(cmsgpack.unpack, ARGV[1])} if not r[1] then return r[2] end \
    local out = {#r} for i = 2, #r do if tk(r[i], 0) then return 'tablekey' end \
    out[#out + 1] = cmsgpack.pack(r[i]) local ok, e = pcall(cjson.encode, r[i]) out[#out + 1] = tostring(e) end return out";

const STRUCT_BOTH_WAYS: &str = "local r = {pcall(struct.unpack, ARGV[1], ARGV[2])} for i = 1, #r do r[i] = tostring(r[i]) end \
    local p = {pcall(struct.pack, ARGV[1], tonumber(ARGV[3]) or ARGV[3], tonumber(ARGV[4]) or ARGV[4], ARGV[5])} \
    for i = 1, #p do p[i] = tostring(p[i]) end return {r, p}";

const BIT_OPS: &str = "local x, y = tonumber(ARGV[1]), tonumber(ARGV[2]) return {tostring(bit.tobit(x)), bit.tohex(x, y), \
    bit.band(x, y), bit.bor(x, y), bit.bxor(x, y), bit.lshift(x, y), bit.rshift(x, y), bit.arshift(x, y), \
    bit.rol(x, y), bit.ror(x, y), bit.bswap(x), bit.bnot(y)}";

fn random_json(r: &mut Rng, depth: u32) -> String {
    let c = r.below(100);
    if depth > 4 || c < 30 {
        return r
            .pick(&[
                "1",
                "-0",
                "1.5e3",
                "0.1",
                "1e400",
                "-1e-400",
                "\"a\\u00e9\\/\"",
                "true",
                "false",
                "null",
                "\"x\"",
                "12345678901234567890",
                "0x1F",
                "NaN",
                "-Infinity",
                "+3",
                "007",
                "\"\\ud83d\\ude00\"",
                "3.14159265358979",
                "\"\"",
                "0x1.8p3",
                "1E+2",
            ])
            .to_string();
    }
    let n = r.below(6);
    if c < 65 {
        let items: Vec<String> = (0..n).map(|_| random_json(r, depth + 1)).collect();
        format!("[{}]", items.join(","))
    } else {
        let items: Vec<String> = (0..n)
            .map(|_| format!("\"k{}\":{}", r.below(30), random_json(r, depth + 1)))
            .collect();
        format!("{{{}}}", items.join(","))
    }
}

fn random_msgpack(r: &mut Rng, depth: u32, out: &mut Vec<u8>) {
    let c = r.below(100);
    let bytes = |r: &mut Rng, n: usize| (0..n).map(|_| r.below(256) as u8).collect::<Vec<u8>>();
    if depth > 3 || c < 50 {
        match r.below(12) {
            0 => out.push(r.below(128) as u8),
            1 => out.push(0xe0 | r.below(32) as u8),
            2 => out.extend([0xcc, r.below(256) as u8]),
            3 => out.extend([&[0xd1][..], &bytes(r, 2)].concat()),
            4 => out.extend([&[0xce][..], &bytes(r, 4)].concat()),
            5 => out.extend([&[0xd3][..], &bytes(r, 8)].concat()),
            6 => out.extend([&[0xcf][..], &bytes(r, 8)].concat()),
            7 => out.extend([&[0xca][..], &bytes(r, 4)].concat()),
            8 => out.extend([&[0xcb][..], &bytes(r, 8)].concat()),
            9 => out.extend(b"\xa3abc"),
            10 => out.extend(b"\xd9\x02hi"),
            _ => out.push([0xc0, 0xc2, 0xc3][r.below(3) as usize]),
        }
        return;
    }
    let n = r.below(5) as u8;
    if c < 75 {
        out.push(0x90 | n);
        for _ in 0..n {
            random_msgpack(r, depth + 1, out);
        }
    } else {
        out.push(0x80 | n);
        for _ in 0..n {
            random_msgpack(r, 99, out);
            random_msgpack(r, depth + 1, out);
        }
    }
}

/// Up to three random edits: a byte changed, dropped, or a syntax byte inserted.
fn mutate(r: &mut Rng, s: &mut Vec<u8>) {
    for _ in 0..r.below(4) {
        if s.is_empty() {
            return;
        }
        let i = r.below(s.len() as u64) as usize;
        match r.below(10) {
            0..=3 => s[i] = r.below(256) as u8,
            4..=6 => {
                s.remove(i);
            }
            _ => s.insert(i, b"[]{},:\"\\ 0-eE."[r.below(14) as usize]),
        }
    }
}

#[test]
fn generated_inputs_match_redis() {
    let mut r = Rng(0x1u64.wrapping_add(0x9E37_79B9_7F4A_7C15));
    let mut reqs = Vec::new();
    for _ in 0..500 {
        let mut j = random_json(&mut r, 0).into_bytes();
        if r.below(2) == 0 {
            mutate(&mut r, &mut j);
        }
        reqs.push(eval(JSON_ROUND_TRIP, &[&j]));
        let mut m = Vec::new();
        for _ in 0..1 + r.below(3) {
            random_msgpack(&mut r, 0, &mut m);
        }
        if r.below(2) == 0 {
            mutate(&mut r, &mut m);
        }
        reqs.push(eval(MSGPACK_ROUND_TRIP, &[&m]));
        let fmt: String = (0..1 + r.below(5))
            .map(|_| {
                r.pick(&[
                    "<", ">", "!", "!4", "b", "B", "h", "H", "i", "I3", "i7", "l", "L", "T", "f",
                    "d", "c2", "c0", "s", "x", " ", "q", "i40",
                ])
            })
            .collect();
        let nums = [
            "0",
            "1",
            "-1",
            "255",
            "256",
            "-129",
            "2147483648",
            "9007199254740992",
            "1.5",
            "-2.5",
            "1e300",
            "18446744073709551616",
            "-9223372036854775808",
        ];
        let data: Vec<u8> = (0..r.below(25)).map(|_| r.below(256) as u8).collect();
        let (n1, n2) = (r.pick(&nums), r.pick(&nums));
        let s = r.pick(&["abc", "", "a\0b"]);
        reqs.push(eval(
            STRUCT_BOTH_WAYS,
            &[
                fmt.as_bytes(),
                &data,
                n1.as_bytes(),
                n2.as_bytes(),
                s.as_bytes(),
            ],
        ));
        let operands = [
            "0",
            "1",
            "-1",
            "2147483648",
            "4294967303",
            "-2147483649",
            "1.5",
            "2.5",
            "-0.5",
            "1e20",
            "123456789012",
            "-98765.4321",
            "31",
            "32",
            "-8",
        ];
        let (x, y) = (r.pick(&operands), r.pick(&operands));
        reqs.push(eval(BIT_OPS, &[x.as_bytes(), y.as_bytes()]));
    }
    compare(&mut reqs.into_iter());
}

/// Inputs built to hurt: deep nesting, cycles, huge lengths, truncated and invalid bytes. The server must
/// answer each (an error is fine) and keep answering.
#[test]
fn hostile_inputs_never_bring_the_server_down() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let scripts = [
        "local t = {} t[1] = t return cjson.encode(t)",
        "local t = {} t.a = t t.b = t return cjson.encode(t)",
        "local t = {} t[1] = t return cmsgpack.pack(t)",
        "local t = {} t.x = t return #cmsgpack.pack(t, t, t)",
        "cjson.encode_max_depth(2^31 - 1) local t = {} t[1] = t return cjson.encode(t)",
        "cjson.decode_max_depth(2^31 - 1) return cjson.decode(string.rep('[', 100000))",
        "cjson.decode_max_depth(2^31 - 1) return cjson.decode(string.rep('{\"a\":', 100000))",
        "return cjson.decode(string.rep('[', 1000000))",
        "local t = {} for i = 1, 100000 do t['k' .. i] = {i} end return #cjson.encode(t)",
        "local t = {} for i = 1, 100000 do t['k' .. i] = {i} end return #cmsgpack.pack(t)",
        "local t = {} for i = 1, 100000 do t[i] = 'v' .. i end return #cmsgpack.pack(t)",
        "return #{cmsgpack.unpack(string.rep(string.char(0xa1, 0x61), 20000))}",
        "return cmsgpack.unpack(string.rep(string.char(0x91), 100000) .. string.char(1))",
        "return cmsgpack.unpack(string.rep(string.char(0x81, 1), 100000) .. string.char(1))",
        "return cmsgpack.unpack(string.char(0xdd, 255, 255, 255, 255))",
        "return cmsgpack.unpack(string.char(0xdf, 255, 255, 255, 255, 1))",
        "return cmsgpack.unpack(string.char(0xdb, 255, 255, 255, 255, 1))",
        "return #cmsgpack.unpack(cmsgpack.pack(string.rep('x', 100000)))",
        "return cmsgpack.unpack_limit(string.rep('\\1', 10), 2^40, 2^40)",
        "return cmsgpack.unpack_one('\\1', -2^60)",
        "return cjson.decode(string.rep('\\\\u', 10000))",
        "return cjson.decode('\"' .. string.rep('\\\\ud800', 1000) .. '\"')",
        "return cjson.decode('[' .. string.rep('1e999999999,', 1000) .. '0]')[1]",
        "return cjson.decode('[0x' .. string.rep('f', 1000) .. 'p99999999999]')[1]",
        "return cjson.decode('[' .. string.rep('9', 100000) .. ']')[1]",
        "return cjson.encode({[1e308] = 1, [2^53] = 2})",
        "return struct.pack(string.rep('i32', 1000), unpack({}))",
        "return #struct.pack('c0', string.rep('x', 1000000))",
        "return struct.unpack('i2147483647', 'x')",
        "return struct.unpack('c4294967295', 'x')",
        "return struct.unpack('!2147483648', 'x')",
        "return struct.unpack('>c0', string.char(255, 255, 255, 255, 255, 255, 255, 127))",
        "return struct.unpack('b', 'x', -2^63)",
        "return struct.unpack('b', 'x', 2^63)",
        "return #{struct.unpack(string.rep('b', 100000), string.rep('x', 100000))}",
        "return struct.size(string.rep('d', 100000))",
        "return bit.tohex(1, -2^31)",
        "return bit.tohex(1, 2^31)",
        "return bit.lshift(1, 2^53)",
        "return bit.band(unpack((function() local t = {} for i = 1, 5000 do t[i] = i end return t end)()))",
        "return cmsgpack.pack(unpack((function() local t = {} for i = 1, 7000 do t[i] = i end return t end)()))",
    ];
    for script in scripts {
        let reply = c.cmds(&["eval", script, "0"]);
        assert!(!reply.is_empty(), "{script}");
        assert_eq!(c.cmds(&["ping"]), "+PONG\r\n", "after {script}");
    }
    let mut r = Rng(7);
    for _ in 0..300 {
        let len = r.below(64) as usize;
        let junk: Vec<u8> = (0..len).map(|_| r.below(256) as u8).collect();
        for script in [
            "return {pcall(cjson.decode, ARGV[1])}",
            "return {pcall(cmsgpack.unpack, ARGV[1])}",
            "return {pcall(struct.unpack, ARGV[1], ARGV[1])}",
            "return {pcall(struct.pack, ARGV[1], 1, 2, 3)}",
        ] {
            c.cmd(&[b"eval", script.as_bytes(), b"0", &junk]);
        }
    }
    assert_eq!(c.cmds(&["ping"]), "+PONG\r\n");
}
