//! The server loop under abuse and load, against the real binary over loopback: huge and abandoned
//! requests, binary junk, 10,000 clients at once and `maxclients`, a client that pipelines without reading
//! (output-buffer limits), fairness between a streaming client and a small one, idle timeouts, and a clean
//! exit on SIGTERM/SIGINT. Memory is judged by the server's RSS (`VmRSS` in /proc/<pid>/status), and every
//! loop here is bounded in count and time.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{encode, TestServer};

const MB: u64 = 1 << 20;
/// Slack allowed over the baseline RSS once a big allocation is freed: the allocator may keep some freed
/// pages (glibc trims its heap top lazily and keeps arenas), and the slab and event buffers keep what they
/// grew to. Anything that leaked a 100 MB request or 10,000 connections' buffers would be far above it.
const RSS_SLACK: u64 = 32 * MB;

/// The server's resident set size in bytes.
fn rss(s: &TestServer) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", s.child.id()))
        .expect("read /proc/<pid>/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS line");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmRSS value");
    kb * 1024
}

/// Waits until the server's RSS is at most `limit`, returning the last reading.
fn wait_rss_below(s: &TestServer, limit: u64, within: Duration) -> u64 {
    let deadline = Instant::now() + within;
    loop {
        let r = rss(s);
        if r <= limit || Instant::now() >= deadline {
            return r;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Sends PING and expects PONG within `limit`; returns the round trip.
fn ping_rtt(c: &mut common::RawConn, limit: Duration) -> Duration {
    let t = Instant::now();
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
    let rtt = t.elapsed();
    assert!(rtt < limit, "PING took {rtt:?} (limit {limit:?})");
    rtt
}

/// Reads until EOF or reset within `within`; false if the connection is still open then.
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// A small seeded generator (xorshift64*), so the junk is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Raises this process's soft open-file limit to `want` (capped by the hard limit); returns the new limit.
fn raise_nofile(want: libc::rlim_t) -> libc::rlim_t {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < want {
            lim.rlim_cur = want.min(lim.rlim_max);
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return 0;
            }
        }
    }
    lim.rlim_cur
}

#[test]
fn value_of_100mb_sent_in_chunks() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    ping_rtt(&mut c, Duration::from_secs(1));
    let base = rss(&s);
    let n: usize = 100 << 20;
    c.send(format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${n}\r\n").as_bytes());
    let chunk: Vec<u8> = (0..MB as usize).map(|i| (i % 251) as u8).collect();
    for _ in 0..n / chunk.len() {
        c.send(&chunk);
    }
    c.send(b"\r\n");
    assert_eq!(c.read_reply(), b"+OK\r\n");
    assert_eq!(c.cmds(&["STRLEN", "big"]), format!(":{n}\r\n"));
    // Bytes from the middle and the end came through in order.
    let off = 77 * MB as usize + 5;
    assert_eq!(
        c.cmds(&["GETRANGE", "big", &off.to_string(), &(off + 3).to_string()]),
        format!(
            "$4\r\n{}\r\n",
            String::from_utf8_lossy(&chunk[off % chunk.len()..][..4])
        )
    );
    assert!(rss(&s) > base + 90 * MB, "the value is resident");
    assert_eq!(c.cmds(&["DEL", "big"]), ":1\r\n");
    let after = wait_rss_below(&s, base + RSS_SLACK, Duration::from_secs(5));
    assert!(
        after <= base + RSS_SLACK,
        "RSS {} MB after DEL, baseline {} MB",
        after / MB,
        base / MB
    );
}

#[test]
fn abandoned_100mb_request_is_freed_and_others_are_served() {
    let s = TestServer::start(&[]);
    let mut other = s.raw();
    assert_eq!(other.cmds(&["SET", "keep", "me"]), "+OK\r\n");
    let base = rss(&s);
    let mut hog = connect(s.port);
    hog.write_all(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$104857600\r\n")
        .unwrap();
    let chunk = vec![b'x'; MB as usize];
    for i in 0..50 {
        hog.write_all(&chunk).unwrap();
        if i % 10 == 0 {
            // The half-received request holds no one else up.
            ping_rtt(&mut other, Duration::from_secs(1));
        }
    }
    // Let the server take in what was sent, so the memory is really held before the client leaves.
    let deadline = Instant::now() + Duration::from_secs(5);
    while rss(&s) < base + 45 * MB && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert!(rss(&s) >= base + 45 * MB, "the partial request is buffered");
    drop(hog);
    let after = wait_rss_below(&s, base + RSS_SLACK, Duration::from_secs(5));
    assert!(
        after <= base + RSS_SLACK,
        "RSS {} MB after the client left, baseline {} MB",
        after / MB,
        base / MB
    );
    assert_eq!(other.cmds(&["GET", "keep"]), "$2\r\nme\r\n");
    assert_eq!(other.cmds(&["EXISTS", "big"]), ":0\r\n");
    let mut fresh = s.raw();
    ping_rtt(&mut fresh, Duration::from_secs(1));
}

/// Waits until a new client is admitted (gets PONG), as it is once a slot under `maxclients` is free.
fn wait_for_slot(port: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let mut c = connect(port);
        let mut b = [0u8; 7];
        if c.write_all(b"PING\r\n").is_ok() && c.read_exact(&mut b).is_ok() && &b == b"+PONG\r\n" {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn client_leaving_mid_request_is_noticed() {
    // With room for two clients, a connection the server failed to close would lock the next one out.
    let s = TestServer::start(&["--maxclients", "2"]);
    let mut other = s.raw();
    let chunk = vec![b'x'; 8 * MB as usize];
    for round in 0..5 {
        // The FIN comes right behind megabytes the server reads 64 KB per turn, so it is reported
        // while the connection is still working through its input.
        let mut hog = connect(s.port);
        hog.write_all(b"*2\r\n$4\r\nECHO\r\n$100000000\r\n")
            .unwrap();
        hog.write_all(&chunk).unwrap();
        drop(hog);
        assert!(
            wait_for_slot(s.port, Duration::from_secs(5)),
            "round {round}: the departed client still holds its slot"
        );
        ping_rtt(&mut other, Duration::from_secs(1));
    }
}

#[test]
fn binary_junk_on_50_connections() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for i in 0..100 {
        assert_eq!(
            c.cmds(&["SET", &format!("junk:key:{i}"), &format!("value {i}")]),
            "+OK\r\n"
        );
    }
    let port = s.port;
    let workers: Vec<_> = (0..50u64)
        .map(|i| {
            thread::spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (i + 1).wrapping_mul(0x1234_5678_9ABC));
                // Past 64 KB so a line stalled by a NUL still ends in "too big inline request".
                let len = 64 * 1024 + 1 + rng.below(64 * 1024) as usize;
                let mut junk = match i % 5 {
                    0 => b"*".to_vec(),
                    1 => b"*3\r\n$3\r\nSET\r\n$".to_vec(),
                    2 => b"*2\r\n$3\r\nGET\r\n".to_vec(),
                    _ => Vec::new(),
                };
                junk.extend(rng.bytes(len));
                let mut sock = connect(port);
                // The server may close mid-write (protocol error): that is one of the allowed outcomes.
                let _ = sock.write_all(&junk);
                let mut got = Vec::new();
                let mut buf = vec![0u8; 64 * 1024];
                let deadline = Instant::now() + Duration::from_secs(5);
                let closed = loop {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break false;
                    }
                    sock.set_read_timeout(Some(left.min(Duration::from_millis(500))))
                        .unwrap();
                    match sock.read(&mut buf) {
                        Ok(0) => break true,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                        Err(e) if e.kind() == ErrorKind::ConnectionReset => break true,
                        Err(e)
                            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                        {
                            // Quiet and still open: fine once an error reply has arrived.
                            if got.first() == Some(&b'-') {
                                break false;
                            }
                        }
                        Err(e) => panic!("conn {i}: {e}"),
                    }
                };
                // Whatever came back is well-formed RESP.
                let mut rest = &got[..];
                while let Some(n) = common::reply_len(rest) {
                    rest = &rest[n..];
                }
                assert!(
                    rest.is_empty() || closed,
                    "conn {i}: trailing partial reply {:?}",
                    String::from_utf8_lossy(&rest[..rest.len().min(100)])
                );
                assert!(
                    closed || got.first() == Some(&b'-'),
                    "conn {i}: neither an error nor a close; got {:?}",
                    String::from_utf8_lossy(&got[..got.len().min(100)])
                );
                (closed, got.first() == Some(&b'-'))
            })
        })
        .collect();
    let mut closed = 0;
    for w in workers {
        let (cl, _) = w.join().expect("junk worker");
        closed += cl as usize;
    }
    eprintln!("junk: {closed}/50 connections closed by the server");
    let mut fresh = s.raw();
    ping_rtt(&mut fresh, Duration::from_secs(1));
    for i in 0..100 {
        assert_eq!(
            fresh.cmds(&["GET", &format!("junk:key:{i}")]),
            format!("${}\r\nvalue {i}\r\n", format!("value {i}").len())
        );
    }
}

#[test]
fn ten_thousand_clients_at_once() {
    const N: usize = 10_000;
    let have = raise_nofile(20_000);
    if have < N as libc::rlim_t + 500 {
        eprintln!(
            "SKIPPED: the open-file limit is {have}, too low for {N} clients; raise the hard RLIMIT_NOFILE"
        );
        return;
    }
    let s = TestServer::start(&[]);
    let base = rss(&s);
    let t0 = Instant::now();
    let mut socks = Vec::with_capacity(N);
    // Waves smaller than the server's listen backlog (511): past it the kernel drops the SYN and the
    // client retries a second later. A PING on each wave's last client waits until the server has
    // accepted the whole wave (the accept queue is FIFO and drained to empty), without ever pausing
    // the earlier clients, which all stay connected.
    const WAVE: usize = 400;
    while socks.len() < N {
        for _ in 0..WAVE.min(N - socks.len()) {
            socks.push(connect(s.port));
        }
        let last = socks.last_mut().unwrap();
        last.write_all(b"PING\r\n").unwrap();
        let mut b = [0u8; 7];
        last.read_exact(&mut b).expect("PONG at the end of a wave");
        assert_eq!(&b, b"+PONG\r\n");
    }
    let connected = t0.elapsed();
    for sock in socks.iter_mut() {
        sock.write_all(b"PING\r\n").unwrap();
    }
    let mut buf = [0u8; 7];
    for (i, sock) in socks.iter_mut().enumerate() {
        sock.read_exact(&mut buf)
            .unwrap_or_else(|e| panic!("client {i}: {e}"));
        assert_eq!(&buf, b"+PONG\r\n", "client {i}");
    }
    let peak = rss(&s);
    eprintln!(
        "{N} clients: connected in {connected:?}, all PONG after {:?}; RSS {} -> {} MB",
        t0.elapsed(),
        base / MB,
        peak / MB
    );
    let mut c = s.raw();
    let info = c.cmds(&["INFO", "clients"]);
    assert!(
        info.contains(&format!("connected_clients:{}\r\n", N + 1))
            || !info.contains("connected_clients"),
        "{info}"
    );
    drop(c);
    drop(socks);
    // All closes are seen, and what the connections held is given back.
    let after = wait_rss_below(&s, base + RSS_SLACK, Duration::from_secs(10));
    assert!(
        after <= base + RSS_SLACK,
        "RSS {} MB after {N} clients left, baseline {} MB",
        after / MB,
        base / MB
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut c = s.raw();
    loop {
        let info = c.cmds(&["INFO", "clients"]);
        if !info.contains("connected_clients") || info.contains("connected_clients:1\r\n") {
            break;
        }
        assert!(Instant::now() < deadline, "clients not all closed: {info}");
        thread::sleep(Duration::from_millis(50));
    }
    ping_rtt(&mut c, Duration::from_secs(1));
}

#[test]
fn maxclients_rejects_the_eleventh() {
    let s = TestServer::start(&["--maxclients", "10"]);
    let mut ten: Vec<_> = (0..10).map(|_| s.raw()).collect();
    for c in ten.iter_mut() {
        ping_rtt(c, Duration::from_secs(1));
    }
    let mut eleventh = connect(s.port);
    let mut got = Vec::new();
    eleventh.read_to_end(&mut got).expect("read until close");
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-ERR max number of clients reached\r\n"
    );
    // A freed slot is taken by the next client.
    drop(ten.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut c = connect(s.port);
        c.write_all(b"PING\r\n").unwrap();
        let mut b = [0u8; 7];
        match c.read_exact(&mut b) {
            Ok(()) if &b == b"+PONG\r\n" => break,
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "no slot freed: {:?}",
            String::from_utf8_lossy(&b)
        );
        thread::sleep(Duration::from_millis(20));
    }
    for c in ten.iter_mut() {
        ping_rtt(c, Duration::from_secs(1));
    }
}

/// What happened to a client that pipelined GETs without reading.
struct HogResult {
    sent: u64,
    closed: bool,
}

/// Writes up to `total` `GET key` requests in batches, never reading, until the server drops the
/// connection or `deadline` passes.
fn spawn_get_hog(port: u16, total: u64, within: Duration) -> thread::JoinHandle<HogResult> {
    thread::spawn(move || {
        let mut sock = connect(port);
        sock.set_write_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let one = encode(&[b"GET", b"hogkey"]);
        const BATCH: u64 = 1000;
        let batch: Vec<u8> = one.repeat(BATCH as usize);
        let deadline = Instant::now() + within;
        let mut sent = 0;
        let mut closed = false;
        while sent < total && Instant::now() < deadline {
            match sock.write(&batch) {
                // A partial batch is fine: the server only counts complete requests.
                Ok(n) => sent += n as u64 / one.len() as u64,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        if !closed {
            // The server may have closed without our writes noticing yet.
            let _ = sock.shutdown(Shutdown::Write);
            closed = closed_within(&mut sock, Duration::from_millis(10));
        }
        HogResult { sent, closed }
    })
}

/// Runs a GET hog next to a client that PINGs, returning the hog's fate, the worst PING and the peak RSS.
fn run_hog(s: &TestServer, value_len: usize, within: Duration) -> (HogResult, Duration, u64) {
    let mut c = s.raw();
    let value = vec![b'v'; value_len];
    c.cmd(&[b"SET", b"hogkey", &value]);
    let hog = spawn_get_hog(s.port, 1_000_000, within);
    let mut worst = Duration::ZERO;
    let mut peak = 0;
    while !hog.is_finished() {
        worst = worst.max(ping_rtt(&mut c, Duration::from_secs(1)));
        peak = peak.max(rss(s));
        thread::sleep(Duration::from_millis(20));
    }
    (hog.join().expect("hog"), worst, peak)
}

#[test]
fn non_reading_client_is_closed_by_output_limit() {
    let s = TestServer::start(&["--client-output-buffer-limit", "normal 1mb 0 0"]);
    let base = rss(&s);
    let (hog, worst, peak) = run_hog(&s, 1024, Duration::from_secs(8));
    eprintln!(
        "1mb limit: hog sent {} GETs, closed={}, worst PING {worst:?}, RSS {} -> peak {} MB",
        hog.sent,
        hog.closed,
        base / MB,
        peak / MB
    );
    assert!(hog.closed, "the hog outlived a 1 MB output limit");
    let after = wait_rss_below(&s, base + RSS_SLACK, Duration::from_secs(5));
    assert!(
        after <= base + RSS_SLACK,
        "RSS {} MB after the hog was closed, baseline {} MB",
        after / MB,
        base / MB
    );
    let mut c = s.raw();
    assert_eq!(c.cmds(&["STRLEN", "hogkey"]), ":1024\r\n");
}

#[test]
fn non_reading_client_with_default_limit_stays_bounded() {
    let s = TestServer::start(&[]);
    let base = rss(&s);
    // 4 KB replies: the 256 MB default limit is reached after ~65,000 GETs, well within the deadline.
    let (hog, worst, peak) = run_hog(&s, 4096, Duration::from_secs(10));
    eprintln!(
        "default limit: hog sent {} GETs, closed={}, worst PING {worst:?}, RSS {} -> peak {} MB",
        hog.sent,
        hog.closed,
        base / MB,
        peak / MB
    );
    // The output limit plus the request bytes in flight and allocator slack.
    let bound = base + 256 * MB + 64 * MB;
    assert!(
        peak <= bound,
        "peak RSS {} MB over the bound {} MB",
        peak / MB,
        bound / MB
    );
    if hog.closed {
        let after = wait_rss_below(&s, base + RSS_SLACK, Duration::from_secs(5));
        assert!(
            after <= base + RSS_SLACK,
            "RSS {} MB after the hog was closed",
            after / MB
        );
    }
}

/// Streams a pipeline of `GET streamkey` on one connection while another thread reads the replies,
/// keeping about `lag` reply bytes unread so the server always has output pending for it.
fn stream_with_lag(
    port: u16,
    reply_len: u64,
    total: u64,
    lag: u64,
    within: Duration,
) -> thread::JoinHandle<u64> {
    let sock = connect(port);
    let mut reader = sock.try_clone().unwrap();
    let mut writer = sock;
    let received = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let (rc, dc) = (received.clone(), done.clone());
    let read_thread = thread::spawn(move || {
        let mut buf = vec![0u8; 256 * 1024];
        let want = total * reply_len;
        while rc.load(Ordering::Relaxed) < want && !dc.load(Ordering::Relaxed) {
            reader
                .set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    rc.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => break,
            }
        }
    });
    thread::spawn(move || {
        let one = encode(&[b"GET", b"streamkey"]);
        let deadline = Instant::now() + within;
        let mut sent = 0u64;
        while sent < total && Instant::now() < deadline {
            if sent * reply_len > received.load(Ordering::Relaxed) + lag {
                thread::sleep(Duration::from_micros(200));
                continue;
            }
            let k = 16.min(total - sent);
            if writer.write_all(&one.repeat(k as usize)).is_err() {
                break;
            }
            sent += k;
        }
        // Wait for the replies still owed, within the deadline.
        while received.load(Ordering::Relaxed) < sent * reply_len && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(5));
        }
        done.store(true, Ordering::Relaxed);
        read_thread.join().expect("reader");
        received.load(Ordering::Relaxed)
    })
}

#[test]
fn streaming_client_does_not_starve_others_or_grow_without_bound() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let value = vec![b's'; 64 * 1024];
    c.cmd(&[b"SET", b"streamkey", &value]);
    let reply_len = (value.len() + 2 + "$65536\r\n".len()) as u64;
    let base = rss(&s);
    // ~1.5 GB of replies with ~32 MB always unread: far more than any buffer should hold at once.
    let total = 24_000;
    let stream = stream_with_lag(s.port, reply_len, total, 32 * MB, Duration::from_secs(15));
    let mut rtts = Vec::new();
    let mut peak = 0;
    while !stream.is_finished() {
        rtts.push(ping_rtt(&mut c, Duration::from_secs(1)));
        peak = peak.max(rss(&s));
        thread::sleep(Duration::from_millis(10));
    }
    let received = stream.join().expect("stream");
    rtts.sort();
    let median = rtts.get(rtts.len() / 2).copied().unwrap_or_default();
    eprintln!(
        "stream: {} MB received, {} PINGs, median {median:?}, worst {:?}; RSS {} -> peak {} MB",
        received / MB,
        rtts.len(),
        rtts.last().copied().unwrap_or_default(),
        base / MB,
        peak / MB
    );
    assert!(
        received >= 256 * MB,
        "the stream moved only {} MB",
        received / MB
    );
    assert!(!rtts.is_empty(), "no PING ran while the stream did");
    // Pending output stays near the lag (twice for Vec growth), not near the bytes streamed.
    assert!(
        peak <= base + 160 * MB,
        "peak RSS {} MB (baseline {} MB) while streaming {} MB",
        peak / MB,
        base / MB,
        received / MB
    );
}

#[test]
fn huge_pipeline_does_not_starve_a_second_client() {
    let s = TestServer::start(&[]);
    // One connection streams PINGs as fast as the server takes them while its replies are read back.
    let sock = connect(s.port);
    let mut reader = sock.try_clone().unwrap();
    let mut writer = sock;
    let stop = Arc::new(AtomicBool::new(false));
    // How many replies the reader should wait for; unknown until the writer stops.
    let target = Arc::new(AtomicU64::new(u64::MAX));
    let (st, tg) = (stop.clone(), target.clone());
    let w = thread::spawn(move || {
        const BATCH: u64 = 10_000;
        let batch = b"PING\r\n".repeat(BATCH as usize);
        let mut sent = 0u64;
        while !st.load(Ordering::Relaxed) && writer.write_all(&batch).is_ok() {
            sent += BATCH;
        }
        tg.store(sent, Ordering::Relaxed);
        sent
    });
    let r = thread::spawn(move || {
        let mut buf = vec![0u8; 256 * 1024];
        let mut n = 0u64;
        let deadline = Instant::now() + Duration::from_secs(20);
        reader
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        while n / 7 < target.load(Ordering::Relaxed) && Instant::now() < deadline {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => n += k as u64,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => break,
            }
        }
        n / 7
    });
    let mut c = s.raw();
    let mut rtts = Vec::new();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(2) {
        rtts.push(ping_rtt(&mut c, Duration::from_secs(1)));
        thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    let sent = w.join().unwrap();
    let replies = r.join().unwrap();
    rtts.sort();
    eprintln!(
        "pipeline: {sent} PINGs sent, {replies} replies; second client {} PINGs, median {:?}, worst {:?}",
        rtts.len(),
        rtts[rtts.len() / 2],
        rtts[rtts.len() - 1]
    );
    assert!(sent >= 10_000, "the pipeline did run");
    assert_eq!(replies, sent, "every pipelined PING answered");
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let s = TestServer::start(&["--timeout", "1"]);
    let mut idle = connect(s.port);
    let mut busy = s.raw();
    let t0 = Instant::now();
    let idle_thread = thread::spawn(move || {
        let closed = closed_within(&mut idle, Duration::from_secs(4));
        (closed, t0.elapsed())
    });
    // A client that keeps talking is not idle.
    while t0.elapsed() < Duration::from_millis(2500) {
        ping_rtt(&mut busy, Duration::from_secs(1));
        thread::sleep(Duration::from_millis(200));
    }
    let (closed, at) = idle_thread.join().unwrap();
    assert!(closed, "the idle client was not closed");
    assert!(
        at >= Duration::from_millis(900) && at <= Duration::from_millis(3000),
        "idle client closed after {at:?}"
    );
    ping_rtt(&mut busy, Duration::from_secs(1));
}

fn signal_exits_cleanly(sig: i32, name: &str) {
    let pidfile = std::env::temp_dir().join(format!(
        "ferrokv-robustness-{}-{name}.pid",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&pidfile);
    let mut s = TestServer::start(&["--pidfile", pidfile.to_str().unwrap()]);
    let pid = s.child.id();
    let written = std::fs::read_to_string(&pidfile).expect("pidfile written");
    assert_eq!(written.trim(), pid.to_string());
    let mut c = s.raw();
    let value: Vec<u8> = (0..16 * MB as usize).map(|i| (i % 253) as u8).collect();
    c.cmd(&[b"SET", b"big", &value]);
    // A client whose reply is still in the server's buffer when the signal comes.
    let mut slow = connect(s.port);
    slow.write_all(&encode(&[b"GET", b"big"])).unwrap();
    thread::sleep(Duration::from_millis(300));
    // SAFETY: sends a signal to the child process this test started.
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0);
    let mut got = Vec::new();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = slow.read_to_end(&mut got);
    let mut want = format!("${}\r\n", value.len()).into_bytes();
    want.extend_from_slice(&value);
    want.extend_from_slice(b"\r\n");
    assert!(
        got == want,
        "{name}: pending reply cut short ({} of {} bytes)",
        got.len(),
        want.len()
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(st) = s.child.try_wait().expect("try_wait") {
            break st;
        }
        assert!(Instant::now() < deadline, "{name}: server did not exit");
        thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{name}: exit status {status:?}");
    assert!(!pidfile.exists(), "{name}: pidfile left behind");
}

#[test]
fn sigterm_exits_zero_flushes_and_removes_pidfile() {
    signal_exits_cleanly(libc::SIGTERM, "SIGTERM");
}

#[test]
fn sigint_exits_zero_flushes_and_removes_pidfile() {
    signal_exits_cleanly(libc::SIGINT, "SIGINT");
}
