#![forbid(unsafe_code)]

use clap::Parser;
use pointsbank::cli::{self, AdminAction, Cli, Command, LedgerAction};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        print!(
            "{}",
            pointsbank::openapi::to_pretty_json(&pointsbank::openapi::document())
        );
        return Ok(());
    }
    let settings = cli::settings(&cli)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&settings.log).unwrap_or_else(|_| "info".into()),
        )
        .with_target(false)
        // Colour codes only for a person at a terminal, not in journald, files or pipes.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    match cli.command {
        Command::Serve => actix_web::rt::System::new().block_on(pointsbank::app::serve(settings)),
        Command::Migrate => cli::migrate(&settings),
        Command::Admin {
            action: AdminAction::Create { phone, name },
        } => cli::create_admin(&settings, &phone, &name),
        Command::Ledger {
            action: LedgerAction::Verify { bank },
        } => {
            if cli::verify(&settings, bank)? {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
        Command::Backup { to } => cli::backup(&settings, &to),
        Command::Demo => cli::demo(&settings),
        Command::Openapi => unreachable!("handled above"),
    }
}
