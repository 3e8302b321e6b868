//! `ferrokv-bench`: a load generator for any Redis-compatible server. Parse flags, check the process
//! limits the connections need, then run each test and report it.

mod cli;
mod engine;
mod hist;
mod limits;
mod report;
mod resp;
mod workload;

use clap::Parser;

fn main() {
    let cfg = cli::Config::from_cli(cli::Cli::parse()).unwrap_or_else(|e| fail(&e));
    let sockets = cfg.clients + cfg.idle;
    limits::ensure_fds(sockets, cfg.threads).unwrap_or_else(|e| fail(&e));
    limits::check_ports(sockets).unwrap_or_else(|e| fail(&e));
    let progress = engine::progress_wanted();
    let mut reporter = report::Reporter::new(&cfg);
    for i in 0..cfg.test_count() {
        let test = cfg.build_test(i);
        engine::prepare(&cfg, &test).unwrap_or_else(|e| fail(&e));
        let result = engine::run(&cfg, &test, progress).unwrap_or_else(|e| fail(&e));
        reporter.test(&test, &result);
    }
    reporter.finish();
}

fn fail(msg: &str) -> ! {
    eprintln!("ferrokv-bench: {msg}");
    std::process::exit(1);
}
