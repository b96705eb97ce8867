//! The `sluice` command: parse the configuration, start the broker, print
//! `listening on HOST:PORT` once its data is loaded (the port is bound first,
//! so a port in use fails at once; requests meanwhile get Kafka's retriable
//! loading errors), run until SIGINT or
//! SIGTERM, then shut down cleanly: parked requests are answered at once,
//! connections get `--shutdown-timeout-ms` to write what they owe, and the
//! logs are closed with their clean-shutdown marker.
//!
//! Log lines go to stderr, filtered by `SLUICE_LOG`, as text (coloured only
//! on a terminal) or as JSON (`--log-format json`).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use sluice::config::{Cli, LogFormat};
use sluice::Broker;

mod cli;

fn main() -> ExitCode {
    // `sluice topics|groups|configs ...`: an admin command, not the broker.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if cli::is_admin_command(&args) {
        return cli::run(args);
    }
    let cli = Cli::parse_from(args);
    let settings = match cli.resolve() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sluice: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(settings.log_format);
    let config = settings.config;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sluice: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async move {
        // Installed before the broker starts: a SIGTERM that arrives right after
        // "listening on" (or during start) must stop the broker cleanly, not end
        // the process by the signal's default action.
        let mut signals = Signals::install();
        let mut broker = match Broker::start_serving(config).await {
            Ok(b) => b,
            Err(e) => {
                eprintln!("sluice: {e}");
                return ExitCode::FAILURE;
            }
        };
        // A signal while the data directory loads stops the broker then.
        let loaded = tokio::select! {
            loaded = broker.ready() => Some(loaded),
            () = signals.wait() => None,
        };
        match loaded {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                eprintln!("sluice: {e}");
                broker.shutdown().await;
                return ExitCode::FAILURE;
            }
            None => {
                tracing::info!("shutting down before start-up finished");
                broker.shutdown().await;
                return ExitCode::SUCCESS;
            }
        }
        let mut out = std::io::stdout();
        if let Some(http) = broker.http_addr() {
            let _ = writeln!(out, "http listening on {http}");
        }
        // The ready line: every listener is bound and every request served.
        let _ = writeln!(out, "listening on {}", broker.local_addr());
        let _ = out.flush();
        signals.wait().await;
        tracing::info!("shutting down");
        broker.shutdown().await;
        ExitCode::SUCCESS
    });
    // The broker has stopped and closed its logs; a blocking task still
    // running (a stuck disk read) must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

/// Logs to stderr. Colour codes only when stderr is a terminal and
/// `NO_COLOR` is unset: in a file or a pipe they are noise.
fn init_logging(format: LogFormat) {
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let json = format == LogFormat::Json;
    // BROKER_LOGGER changes rebuild this filter at run time (sluice::logging).
    let directives = std::env::var("SLUICE_LOG").unwrap_or_else(|_| "info".to_string());
    if sluice::logging::init(&directives, json, colour, std::io::stderr).is_err() {
        let _ = sluice::logging::init("info", json, colour, std::io::stderr);
    }
}

/// SIGTERM and SIGINT, listened for from the moment they are installed.
struct Signals {
    term: Option<tokio::signal::unix::Signal>,
    int: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        Signals {
            term: signal(SignalKind::terminate()).ok(),
            int: signal(SignalKind::interrupt()).ok(),
        }
    }

    async fn wait(&mut self) {
        async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            _ = recv(&mut self.term) => {}
            _ = recv(&mut self.int) => {}
        }
    }
}
