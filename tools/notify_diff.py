#!/usr/bin/env python3
"""Differential test of keyspace notifications: runs the same random mix of write (and read) commands on
ferrokv and on a real Redis 7.0, both with notify-keyspace-events set, and compares the notification
streams a PSUBSCRIBE '__key*__:*' client receives, byte for byte.

usage: notify_diff.py FERROKV_PORT REDIS_PORT [count] [seed] [flags]
"""
import random
import socket
import sys


def enc(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.settimeout(10)
        self.buf = b""

    def fill(self):
        d = self.s.recv(1 << 16)
        if not d:
            raise EOFError
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        i = self.buf.index(b"\r\n")
        l, self.buf = self.buf[:i], self.buf[i + 2:]
        return l

    def reply(self):
        l = self.line()
        t = l[:1]
        if t in (b"+", b"-", b":", b",", b"_", b"#", b"("):
            return l
        if t in (b"$", b"="):
            n = int(l[1:])
            if n < 0:
                return l
            while len(self.buf) < n + 2:
                self.fill()
            d, self.buf = self.buf[:n], self.buf[n + 2:]
            return l + b"|" + d
        if t in (b"*", b"%", b"~", b">"):
            n = int(l[1:])
            if n < 0:
                return l
            k = n * 2 if t == b"%" else n
            return l + b"[" + b",".join(self.reply() for _ in range(k)) + b"]"
        raise ValueError(l)

    def cmd(self, *args):
        self.s.sendall(enc(args))
        return self.reply()


KEYS = ["k%d" % i for i in range(6)]


def gen(r):
    k = lambda: r.choice(KEYS)
    v = lambda: r.choice(["1", "2", "abc", "x", "10", "3.5", "hello", "-4"])
    n = lambda: str(r.randint(-3, 5))
    f = lambda: r.choice(["f1", "f2", "f3"])
    m = lambda: r.choice(["a", "b", "c", "d", "1", "2"])
    sc = lambda: str(r.choice([1, 2, 3, 1.5, -1, 10]))
    c = r.randrange(100)
    if c < 3:
        return ["SET", k(), v()] + r.choice([[], ["NX"], ["XX"], ["GET"], ["EX", "100"], ["PX", "100000", "GET"], ["KEEPTTL"]])
    if c < 4:
        return r.choice([["SETNX", k(), v()], ["SETEX", k(), "100", v()], ["PSETEX", k(), "100000", v()], ["GETSET", k(), v()]])
    if c < 6:
        return r.choice([["GETDEL", k()], ["GETEX", k()], ["GETEX", k(), "PERSIST"], ["GETEX", k(), "EX", "100"], ["GETEX", k(), "PXAT", "1"], ["GET", k()], ["MGET", k(), k()]])
    if c < 8:
        return r.choice([["MSET", k(), v(), k(), v()], ["MSETNX", k(), v(), k(), v()], ["APPEND", k(), v()], ["SETRANGE", k(), r.choice(["0", "3"]), r.choice(["", "zz"])], ["STRLEN", k()]])
    if c < 11:
        return r.choice([["INCR", k()], ["DECR", k()], ["INCRBY", k(), n()], ["DECRBY", k(), n()], ["INCRBYFLOAT", k(), "1.5"]])
    if c < 13:
        return r.choice([["SETBIT", k(), str(r.randint(0, 20)), str(r.randint(0, 1))], ["BITOP", r.choice(["AND", "OR", "XOR"]), k(), k(), k()], ["BITOP", "NOT", k(), k()],
                         ["BITFIELD", k(), "SET", "u8", "0", "255"], ["BITFIELD", k(), "INCRBY", "u4", "4", "1"], ["BITFIELD", k(), "GET", "u8", "0"], ["BITFIELD", k(), "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "5"]])
    if c < 18:
        return r.choice([["DEL", k(), k()], ["UNLINK", k()], ["RENAME", k(), k()], ["RENAMENX", k(), k()], ["MOVE", k(), "1"], ["COPY", k(), k()], ["COPY", k(), k(), "REPLACE"], ["COPY", k(), k(), "DB", "1"],
                         ["EXPIRE", k(), r.choice(["100", "-1", "0"])], ["PEXPIREAT", k(), r.choice(["99999999990000", "99999999999000"]), r.choice(["NX", "XX", "GT", "LT"])], ["EXPIREAT", k(), r.choice(["1", "99999999999"])], ["PERSIST", k()],
                         ["EXISTS", k(), k()], ["TYPE", k()], ["TTL", k()], ["TOUCH", k()]])
    if c < 30:
        return r.choice([["LPUSH", k(), m(), m()], ["RPUSH", k(), m()], ["LPUSHX", k(), m()], ["RPUSHX", k(), m()], ["LINSERT", k(), r.choice(["BEFORE", "AFTER"]), m(), m()],
                         ["LSET", k(), n(), m()], ["LREM", k(), n(), m()], ["LTRIM", k(), n(), n()], ["LPOP", k()], ["RPOP", k()], ["LPOP", k(), "2"], ["RPOP", k(), "0"],
                         ["LMOVE", k(), k(), r.choice(["LEFT", "RIGHT"]), r.choice(["LEFT", "RIGHT"])], ["RPOPLPUSH", k(), k()], ["LMPOP", "2", k(), k(), r.choice(["LEFT", "RIGHT"]), "COUNT", "2"],
                         ["BLPOP", k(), k(), "0.01"], ["BRPOP", k(), "0.01"], ["BLMOVE", k(), k(), "LEFT", "RIGHT", "0.01"], ["BLMPOP", "0.01", "1", k(), "LEFT"], ["LLEN", k()], ["LRANGE", k(), "0", "-1"], ["LINDEX", k(), "0"], ["LPOS", k(), m()]])
    if c < 42:
        return r.choice([["HSET", k(), f(), v()], ["HSET", k(), f(), v(), f(), v()], ["HMSET", k(), f(), v()], ["HSETNX", k(), f(), v()], ["HDEL", k(), f(), f()], ["HINCRBY", k(), f(), n()],
                         ["HINCRBYFLOAT", k(), f(), "2.5"], ["HGET", k(), f()], ["HGETALL", k()], ["HLEN", k()], ["HEXISTS", k(), f()], ["HMGET", k(), f()], ["HSTRLEN", k(), f()], ["HRANDFIELD", k()]])
    if c < 56:
        return r.choice([["SADD", k(), m(), m()], ["SREM", k(), m(), m()], ["SPOP", k(), r.choice(["0", "10"])], ["SMOVE", k(), k(), m()],
                         ["SINTERSTORE", k(), k(), k()], ["SUNIONSTORE", k(), k(), k()], ["SDIFFSTORE", k(), k(), k()], ["SMEMBERS", k()], ["SCARD", k()], ["SISMEMBER", k(), m()], ["SRANDMEMBER", k()], ["SINTERCARD", "2", k(), k()]])
    if c < 75:
        return r.choice([["ZADD", k(), sc(), m(), sc(), m()], ["ZADD", k(), r.choice(["NX", "XX", "GT", "LT"]), sc(), m()], ["ZADD", k(), "INCR", sc(), m()], ["ZADD", k(), "XX", "CH", sc(), m()], ["ZINCRBY", k(), sc(), m()], ["ZREM", k(), m(), m()],
                         ["ZREMRANGEBYSCORE", k(), "1", "2"], ["ZREMRANGEBYRANK", k(), "0", "0"], ["ZREMRANGEBYLEX", k(), "-", "+"], ["ZPOPMIN", k()], ["ZPOPMAX", k(), "2"], ["ZMPOP", "2", k(), k(), "MIN"],
                         ["BZPOPMIN", k(), "0.01"], ["BZPOPMAX", k(), k(), "0.01"], ["BZMPOP", "0.01", "1", k(), "MAX", "COUNT", "3"],
                         ["ZUNIONSTORE", k(), "2", k(), k()], ["ZINTERSTORE", k(), "2", k(), k()], ["ZDIFFSTORE", k(), "2", k(), k()], ["ZRANGESTORE", k(), k(), "0", "-1"], ["ZRANGESTORE", k(), k(), "5", "6"],
                         ["ZSCORE", k(), m()], ["ZCARD", k()], ["ZRANGE", k(), "0", "-1"], ["ZRANK", k(), m()], ["ZMSCORE", k(), m()]])
    if c < 80:
        return r.choice([["SORT", k(), "ALPHA", "STORE", k()], ["SORT", k(), "STORE", k()], ["SORT_RO", k(), "ALPHA"], ["SORT", k(), "ALPHA"]])
    if c < 83:
        return r.choice([["SELECT", "1"], ["SELECT", "0"]])
    if c < 85:
        return r.choice([["FLUSHDB"], ["SWAPDB", "0", "1"]]) if r.random() < 0.2 else ["DBSIZE"]
    if c < 90:
        return r.choice([["GETRANGE", k(), "0", "2"], ["LCS", k(), k()], ["BITCOUNT", k()], ["BITPOS", k(), "1"], ["GETBIT", k(), "3"]])
    return ["SET", k(), v()]


def drain(sub, marker):
    while marker not in sub.buf:
        sub.fill()
    i = sub.buf.index(marker) + len(marker)
    out, sub.buf = sub.buf[:i], sub.buf[i:]
    return out


def main():
    fk, rd = int(sys.argv[1]), int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    flags = sys.argv[5] if len(sys.argv) > 5 else "KEA"
    streams, replies = [], []
    for port in (fk, rd):
        r = random.Random(seed)
        c, sub = Conn(port), Conn(port)
        c.cmd("FLUSHALL")
        c.cmd("CONFIG", "SET", "notify-keyspace-events", flags)
        sub.cmd("PSUBSCRIBE", "__key*__:*")
        log, stream, reps = [], [], []
        for step in range(count):
            args = gen(r)
            rep = c.cmd(*args)
            log.append(args)
            reps.append(rep)
            if step % 50 == 49 or step == count - 1:
                marker = b"mark%d" % step
                c.cmd("PUBLISH", "__keyspace@0__:mark", marker)
                stream.append(drain(sub, marker))
        c.cmd("CONFIG", "SET", "notify-keyspace-events", "")
        streams.append(stream)
        replies.append((log, reps))
    log = replies[0][0]
    rdiff = [i for i in range(count) if replies[0][1][i] != replies[1][1][i]]
    for i in rdiff[:5]:
        print("reply differs at", i, log[i], replies[0][1][i][:200], replies[1][1][i][:200])
    print("reply diffs:", len(rdiff))
    bad = 0
    for blk, (a, b) in enumerate(zip(*streams)):
        if a != b:
            bad += 1
            if bad <= 3:
                lo = blk * 50
                print("stream differs in block", blk, "commands", lo, "..", lo + 49)
                al, bl = a.split(b"\r\n"), b.split(b"\r\n")
                for j in range(max(len(al), len(bl))):
                    x = al[j] if j < len(al) else None
                    y = bl[j] if j < len(bl) else None
                    if x != y:
                        print("  first diff at line", j, "ferrokv:", x, "redis:", y)
                        print("  ferrokv ctx:", b" ".join(al[max(0, j - 12):j + 12]))
                        print("  redis   ctx:", b" ".join(bl[max(0, j - 12):j + 12]))
                        break
                for i in range(lo, lo + 50):
                    if i < count:
                        print("   ", i, " ".join(log[i]))
    total = sum(len(x) for x in streams[0])
    print("notification bytes:", total, "blocks differing:", bad, "of", len(streams[0]))
    sys.exit(1 if bad else 0)


main()
