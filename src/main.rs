//! `ferrokv-server`: parse flags, start logging, raise the open-file limit, bind, announce, serve.

use clap::Parser;
use ferrokv::config::{level_filter, Cli, Config};
use ferrokv::server::Server;

fn main() {
    let cli = Cli::parse();
    let cfg = Config::from_cli(&cli).unwrap_or_else(|e| fail(&e));
    let level = level_filter(&cfg.loglevel).unwrap_or(log::LevelFilter::Info);
    // The logger passes everything and `log`'s global maximum filters, so CONFIG SET loglevel can raise
    // the level at run time as well as lower it.
    let _ = simple_logger::SimpleLogger::new()
        .with_level(log::LevelFilter::Trace)
        .init();
    log::set_max_level(level);
    ferrokv::server::raise_fd_limit(cfg.maxclients);
    let mut server = Server::bind(cfg).unwrap_or_else(|e| fail(&format!("cannot listen: {e}")));
    // The dataset on disk is loaded before the first client is accepted.
    if let Err(e) = ferrokv::cmd::persist::load_at_startup(&mut server.st) {
        fail(&e);
    }
    let addr = server.local_addr().unwrap_or_else(|e| fail(&e.to_string()));
    if let Err(e) = server.write_pidfile() {
        fail(&format!("cannot write pidfile: {e}"));
    }
    log::info!("Ready to accept connections on {addr}");
    // The only line on stdout: scripts and tests wait for it.
    println!("listening on {addr}");
    if let Err(e) = server.run() {
        fail(&format!("event loop failed: {e}"));
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("ferrokv-server: {msg}");
    std::process::exit(1);
}
