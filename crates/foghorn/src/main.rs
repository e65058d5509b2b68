//! The `foghorn` binary. `anyhow` lives here at the edge only; every layer
//! below returns its own typed errors.

use foghorn::{app, cli, commands, config, demo, engine, telemetry};

use clap::Parser;
use cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut config = match config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("foghorn: config error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("foghorn: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Building the providers once here makes a bad provider setting a
    // config error, reported before any database or key file is created.
    let providers = runtime.block_on(async {
        let catalog =
            foghorn::catalog::Providers::for_config(&config).map_err(|e| e.to_string())?;
        engine::Routing::from_config(&config, catalog)
            .map(drop)
            .map_err(|e| e.to_string())
    });
    if let Err(e) = providers {
        eprintln!("foghorn: config error: {e}");
        return ExitCode::from(2);
    }
    if matches!(cli.command, Command::Demo(_)) && std::env::var_os("RUST_LOG").is_none() {
        config.log.level = "warn".into();
    }
    telemetry::init_logs(&config.log);
    let result = runtime.block_on(run(cli.command, config));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("foghorn: {e:#}");
            // A node that cannot read its data is misconfigured, not failing;
            // a command given what it cannot use was misused.
            if e.downcast_ref::<foghorn::master_key::KeyMismatch>()
                .is_some()
                || e.downcast_ref::<commands::Misuse>().is_some()
            {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

async fn run(command: Command, mut config: config::Config) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => {
            if let Some(l) = args.listen {
                config.listen = config::parse_listen(&l)
                    .map_err(|m| anyhow::anyhow!("--listen {m}"))?
                    .to_string();
            }
            let node = app::Node::start(&config, args.role).await?;
            println!(
                "foghorn listening on http://{} ({}, role {:?})",
                node.addr,
                node.store.backend_name(),
                args.role
            );
            app::shutdown_signal().await;
            tracing::info!("shutting down");
            node.shutdown().await;
            Ok(())
        }
        Command::Migrate => commands::migrate(&config).await,
        Command::Demo(args) => demo::run(config, args).await,
        Command::Send(args) => commands::send(&config, args).await,
        Command::Keys { command } => commands::keys(&config, command).await,
        Command::Dlq { command } => commands::dlq(&config, command).await,
        Command::Discord { command } => commands::discord(&config, command).await,
        Command::Subscribers { command } => commands::subscribers(&config, command).await,
        Command::Tenants { command } => commands::tenants(&config, command).await,
        Command::Audit { command } => commands::audit(&config, command).await,
        Command::Proof(args) => commands::proof(&config, args).await,
        Command::Bench(args) => commands::bench(args).await,
    }
}
