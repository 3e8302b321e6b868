//! Output: redis-benchmark-like text, `-q` one-liners, `--csv`, or one `--json` object (written by hand).
//! Error replies, open-loop timeouts and idle connections the server dropped are always reported, on
//! stderr as well as in the chosen format, never left out.

use crate::cli::{Config, Output, Stop};
use crate::engine::{OpStats, RunResult};
use crate::workload::{Keys, Test};
use std::fmt::Write as _;

const PERCENTILES: [(&str, f64); 5] = [
    ("p50", 50.0),
    ("p90", 90.0),
    ("p99", 99.0),
    ("p99.9", 99.9),
    ("p99.99", 99.99),
];

/// Above this share of its threads' time busy, the client is likely the bottleneck of the run.
const CLIENT_BOUND: f64 = 0.9;

pub struct Reporter<'a> {
    cfg: &'a Config,
    json_results: Vec<String>,
    csv_header: bool,
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn rate(s: &OpStats, r: &RunResult) -> f64 {
    let secs = r.elapsed.as_secs_f64();
    if secs > 0.0 {
        s.requests as f64 / secs
    } else {
        0.0
    }
}

impl<'a> Reporter<'a> {
    pub fn new(cfg: &'a Config) -> Reporter<'a> {
        Reporter {
            cfg,
            json_results: Vec::new(),
            csv_header: false,
        }
    }

    /// Reports one finished test.
    pub fn test(&mut self, test: &Test, r: &RunResult) {
        for (op, s) in test.ops.iter().zip(&r.ops) {
            warn(&op.name, s);
        }
        if r.idle_closed > 0 {
            eprintln!(
                "WARNING {}: the server closed {} of {} idle connections during the run ({})",
                test.title,
                r.idle_closed,
                r.idle_held,
                r.idle_close_reason.as_deref().unwrap_or("no reason given")
            );
        }
        if r.client_busy >= CLIENT_BOUND {
            eprintln!(
                "NOTE {}: this client was busy {:.0}% of the run on its {} thread(s), so it may be what \
                 limits the rate; pipelining (-P) or more threads (--threads) take load off it",
                test.title,
                r.client_busy * 100.0,
                self.cfg.threads
            );
        }
        match self.cfg.output {
            Output::Json => {
                for (op, s) in test.ops.iter().zip(&r.ops) {
                    self.json_results.push(json_result(&op.name, s, r));
                }
            }
            Output::Csv => {
                if !self.csv_header {
                    self.csv_header = true;
                    println!(
                        "\"test\",\"rps\",\"requests\",\"errors\",\"avg_latency_ms\",\"min_latency_ms\",\
                         \"p50_latency_ms\",\"p90_latency_ms\",\"p99_latency_ms\",\"p99.9_latency_ms\",\
                         \"p99.99_latency_ms\",\"max_latency_ms\""
                    );
                }
                for (op, s) in test.ops.iter().zip(&r.ops) {
                    let h = &s.hist;
                    let mut line = format!(
                        "\"{}\",\"{:.2}\",\"{}\",\"{}\",\"{:.3}\",\"{:.3}\"",
                        op.name.replace('"', "\"\""),
                        rate(s, r),
                        s.requests,
                        s.errors,
                        h.mean() / 1e6,
                        ms(h.min())
                    );
                    for (_, p) in PERCENTILES {
                        let _ = write!(line, ",\"{:.3}\"", ms(h.percentile(p)));
                    }
                    let _ = write!(line, ",\"{:.3}\"", ms(h.max()));
                    println!("{line}");
                }
            }
            Output::Quiet => {
                for (op, s) in test.ops.iter().zip(&r.ops) {
                    let errors = if s.errors > 0 {
                        format!(", {} errors", s.errors)
                    } else {
                        String::new()
                    };
                    println!(
                        "{}: {:.2} requests per second, p50={:.3} msec, p99={:.3} msec{errors}",
                        op.name,
                        rate(s, r),
                        ms(s.hist.percentile(50.0)),
                        ms(s.hist.percentile(99.0))
                    );
                }
            }
            Output::Text => self.text(test, r),
        }
    }

    fn text(&self, test: &Test, r: &RunResult) {
        let cfg = self.cfg;
        let total: u64 = r.ops.iter().map(|s| s.requests).sum();
        let errors: u64 = r.ops.iter().map(|s| s.errors).sum();
        println!("====== {} ======", test.title);
        println!(
            "  {total} requests completed in {:.2} seconds, {errors} errors",
            r.elapsed.as_secs_f64()
        );
        println!(
            "  client CPU busy {:.0}% of its thread time",
            r.client_busy * 100.0
        );
        println!(
            "  {} parallel clients on {} thread{}, pipeline {}, {} bytes payload, keys: {}",
            cfg.clients,
            cfg.threads,
            if cfg.threads == 1 { "" } else { "s" },
            cfg.pipeline,
            cfg.data_size,
            keys_text(cfg.keys)
        );
        match cfg.rate {
            Some(rate) => println!(
                "  open loop at {rate} requests per second (latency from each request's scheduled send time)"
            ),
            None => println!("  closed loop (latency from each request's send time)"),
        }
        if r.idle_held > 0 {
            println!(
                "  {} idle connections held open ({} closed by the server)",
                r.idle_held, r.idle_closed
            );
        }
        println!();
        for (op, s) in test.ops.iter().zip(&r.ops) {
            if test.ops.len() > 1 {
                println!(
                    "  {}: {} requests, {} errors",
                    op.name, s.requests, s.errors
                );
            }
            if s.timeouts > 0 {
                println!("  {} requests unanswered at the deadline", s.timeouts);
            }
            println!(
                "  throughput summary: {:.2} requests per second",
                rate(s, r)
            );
            println!("  latency summary (msec):");
            println!(
                "  {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
                "avg", "min", "p50", "p90", "p99", "p99.9", "p99.99", "max"
            );
            let h = &s.hist;
            let mut line = format!("  {:>9.3} {:>9.3}", h.mean() / 1e6, ms(h.min()));
            for (_, p) in PERCENTILES {
                let _ = write!(line, " {:>9.3}", ms(h.percentile(p)));
            }
            let _ = write!(line, " {:>9.3}", ms(h.max()));
            println!("{line}");
            println!();
        }
    }

    /// Prints the JSON object (for `--json`) once every test has run.
    pub fn finish(self) {
        if self.cfg.output != Output::Json {
            return;
        }
        println!(
            "{{\"results\": [{}], \"settings\": {}}}",
            self.json_results.join(", "),
            settings_json(self.cfg)
        );
    }
}

fn warn(name: &str, s: &OpStats) {
    if s.errors > 0 {
        eprintln!(
            "WARNING {name}: {} of {} replies were errors, first: {}",
            s.errors,
            s.requests,
            s.first_error.as_deref().unwrap_or("?")
        );
    }
    if s.timeouts > 0 {
        eprintln!(
            "WARNING {name}: {} requests were still unanswered at the deadline; they are counted in the \
             latency percentiles at the time they had waited",
            s.timeouts
        );
    }
}

fn keys_text(k: Keys) -> String {
    match k {
        Keys::Fixed => "one fixed key (no -r)".into(),
        Keys::Uniform(n) => format!("{n} uniform"),
        Keys::Zipf(n, s) => format!("{n} zipf (exponent {s})"),
    }
}

fn json_result(name: &str, s: &OpStats, r: &RunResult) -> String {
    let h = &s.hist;
    let mut o = String::from("{\"command\": ");
    json_str(&mut o, name);
    let _ = write!(
        o,
        ", \"ops_per_sec\": {:.2}, \"requests\": {}, \"errors\": {}, \"timeouts\": {}, \"seconds\": {:.3}",
        rate(s, r),
        s.requests,
        s.errors,
        s.timeouts,
        r.elapsed.as_secs_f64()
    );
    o.push_str(", \"first_error\": ");
    match &s.first_error {
        Some(e) => json_str(&mut o, e),
        None => o.push_str("null"),
    }
    let _ = write!(
        o,
        ", \"idle_closed\": {}, \"client_cpu_busy\": {:.3}, \"latency_ms\": {{\"avg\": {:.3}, \"min\": {:.3}",
        r.idle_closed,
        r.client_busy,
        h.mean() / 1e6,
        ms(h.min())
    );
    for (label, p) in PERCENTILES {
        let _ = write!(o, ", \"{label}\": {:.3}", ms(h.percentile(p)));
    }
    let _ = write!(o, ", \"max\": {:.3}}}}}", ms(h.max()));
    o
}

fn settings_json(cfg: &Config) -> String {
    let mut o = String::from("{\"host\": ");
    json_str(&mut o, &cfg.host);
    let _ = write!(
        o,
        ", \"port\": {}, \"clients\": {}",
        cfg.addr.port(),
        cfg.clients
    );
    match cfg.stop {
        Stop::Requests(n) => {
            let _ = write!(o, ", \"requests\": {n}, \"duration\": null");
        }
        Stop::Duration(d) => {
            let _ = write!(o, ", \"requests\": null, \"duration\": {}", d.as_secs_f64());
        }
    }
    let _ = write!(
        o,
        ", \"warmup\": {}, \"data_size\": {}, \"pipeline\": {}, \"threads\": {}, \"idle\": {}",
        cfg.warmup.as_secs_f64(),
        cfg.data_size,
        cfg.pipeline,
        cfg.threads,
        cfg.idle
    );
    match cfg.keys {
        Keys::Fixed => o.push_str(", \"keyspace\": null, \"key_pattern\": \"fixed\""),
        Keys::Uniform(n) => {
            let _ = write!(o, ", \"keyspace\": {n}, \"key_pattern\": \"uniform\"");
        }
        Keys::Zipf(n, s) => {
            let _ = write!(
                o,
                ", \"keyspace\": {n}, \"key_pattern\": \"zipf\", \"zipf_exponent\": {s}"
            );
        }
    }
    match cfg.rate {
        Some(r) => {
            let _ = write!(o, ", \"mode\": \"open-loop\", \"rate\": {r}");
        }
        None => o.push_str(", \"mode\": \"closed-loop\", \"rate\": null"),
    }
    match cfg.ratio {
        Some((a, b)) => {
            let _ = write!(o, ", \"ratio\": \"{a}:{b}\"");
        }
        None => o.push_str(", \"ratio\": null"),
    }
    o.push_str(", \"tests\": [");
    let names: Vec<String> = if cfg.ratio.is_some() {
        vec!["set".into(), "get".into()]
    } else if !cfg.command.is_empty() {
        vec![cfg.command.join(" ")]
    } else {
        cfg.tests.iter().map(|s| s.to_string()).collect()
    };
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            o.push_str(", ");
        }
        json_str(&mut o, n);
    }
    o.push_str("]}");
    o
}

/// Appends `s` as a JSON string literal.
fn json_str(o: &mut String, s: &str) {
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
}

#[cfg(test)]
mod tests {
    use super::json_str;

    #[test]
    fn json_strings_are_escaped() {
        let mut o = String::new();
        json_str(&mut o, "a\"b\\c\nd\u{1}");
        assert_eq!(o, "\"a\\\"b\\\\c\\nd\\u0001\"");
    }
}
