#!/usr/bin/env python3
"""Regenerates src/cmd/server/redis_docs.resp from a running redis-server 7.0.x (RESP3).

Usage: tools/gen_redis_docs.py PORT > src/cmd/server/redis_docs.resp

Each record is a RESP3 array of five: the command's full name (bulk), the COMMAND DOCS fields beyond
summary/since/group/complexity/subcommands (a map), its tips (a set), its key specs (a set of maps), all
exactly as Redis sends them, and whether Redis flags it `movablekeys` (an integer, 1 or 0).
"""
import socket, sys

def rd(f):
    line = f.readline()
    t = line[:1]
    if t in b"+-:,_#(":
        return line, None
    if t in b"$=!":
        n = int(line[1:-2])
        if n < 0:
            return line, None
        return line + f.read(n + 2), None
    if t in b"*~>%|":
        n = int(line[1:-2])
        k = 2 * n if t in b"%|" else n
        items = [rd(f) for _ in range(max(k, 0))]
        return line + b"".join(i[0] for i in items), items
    raise ValueError(line)

def bulk_str(raw):
    return raw.split(b"\r\n", 1)[1][:-2]

def main():
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    f = s.makefile("rb")
    def cmd(*a):
        out = b"*%d\r\n" % len(a)
        for x in a:
            out += b"$%d\r\n%s\r\n" % (len(x), x.encode())
        s.sendall(out)
        return rd(f)
    cmd("HELLO", "3")
    _, docs = cmd("COMMAND", "DOCS")
    _, infos = cmd("COMMAND", "INFO")
    extra = {}
    def walk_docs(name, m):
        items = m[1]
        pairs = []
        for k, v in zip(items[::2], items[1::2]):
            key = bulk_str(k[0])
            if key == b"subcommands":
                sub = v[1]
                for sk, sv in zip(sub[::2], sub[1::2]):
                    walk_docs(bulk_str(sk[0]), sv)
            elif key not in (b"summary", b"since", b"group", b"complexity"):
                pairs.append(k[0] + v[0])
        extra[name] = b"%%%d\r\n" % len(pairs) + b"".join(pairs)
    for k, v in zip(docs[::2], docs[1::2]):
        walk_docs(bulk_str(k[0]), v)
    out = []
    def walk_info(e):
        f10 = e[1]
        name = bulk_str(f10[0][0])
        tips, specs = f10[7][0], f10[8][0]
        movable = b":1\r\n" if b"+movablekeys\r\n" in f10[2][0] else b":0\r\n"
        out.append(b"*5\r\n" + f10[0][0] + extra.get(name, b"%0\r\n") + tips + specs + movable)
        for sub in (f10[9][1] or []):
            walk_info(sub)
    for e in infos:
        walk_info(e)
    sys.stdout.buffer.write(b"".join(sorted(out)))

main()
