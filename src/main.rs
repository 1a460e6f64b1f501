//! The `verdict` binary: parse the command line, set up logging, run the command. Every
//! command is a library function (`verdict::cli`).

use clap::Parser;
use verdict::cli::{Cli, run};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    verdict::telemetry::init_tracing(cli.log_json);
    run(cli.command)
}
