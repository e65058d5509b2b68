//! The command line. clap exits with 2 on misuse.

use crate::app::Role;
use clap::{Args, Parser, Subcommand, ValueEnum};
use foghorn_core::TenantId;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "foghorn",
    version,
    about = "Self-hosted multi-channel notifications: events in, notifications out."
)]
pub struct Cli {
    /// Config file (default: ./foghorn.toml when present).
    #[arg(long, global = true, env = "FOGHORN_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a node: the API, the workers, or both.
    Serve(ServeArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Start with sandbox providers and the NaviDocs pack, fire sample events
    /// and show them arriving.
    Demo(DemoArgs),
    /// Trigger an event from the shell.
    Send(SendArgs),
    /// API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Tenants (one per dealer).
    Tenants {
        #[command(subcommand)]
        command: TenantsCommand,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// A person's data: export it, or erase it (GDPR, CCPA).
    Subscribers {
        #[command(subcommand)]
        command: SubscribersCommand,
    },
    /// The Discord application: its slash commands.
    Discord {
        #[command(subcommand)]
        command: DiscordCommand,
    },
    /// The dead-letter queue.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Proof of notice: an event's signed account of who was told, how,
    /// and who confirmed (`foghorn proof EVENT_ID`); or check an export
    /// offline (`foghorn proof verify FILE`).
    Proof(ProofArgs),
    /// Measure throughput and latency against the real server on loopback
    /// (runs `foghorn-bench`, built beside this binary).
    Bench(BenchArgs),
}

/// Everything after `bench` goes to `foghorn-bench` unchanged.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Options of foghorn-bench (`foghorn bench --help` lists them).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (overrides `listen`).
    #[arg(long)]
    pub listen: Option<String>,
    #[arg(long, value_enum, default_value = "all")]
    pub role: Role,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on (default: `listen`, or a free port if it is taken).
    #[arg(long)]
    pub listen: Option<String>,
    /// Exit once the sample messages have arrived instead of serving on.
    #[arg(long)]
    pub exit: bool,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Event name, e.g. document.uploaded.
    pub name: String,
    /// A subscriber id (repeatable).
    #[arg(long = "to")]
    pub to: Vec<String>,
    /// The event's data, a JSON object.
    #[arg(long, default_value = "{}")]
    pub data: String,
    #[arg(long)]
    pub idempotency_key: Option<String>,
    #[arg(long)]
    pub grouping_key: Option<String>,
    /// RFC 3339 time to send at.
    #[arg(long)]
    pub send_at: Option<String>,
    #[arg(long, default_value = "default")]
    pub tenant: TenantId,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key; it is printed once, alone on the last line.
    Create {
        /// events:write, read or admin (repeatable); `operator` makes a key of
        /// no tenant that manages tenants.
        #[arg(long = "scope", required = true, value_parser = ["events:write", "read", "admin", "operator"])]
        scopes: Vec<String>,
        /// The tenant's id or name.
        #[arg(long, default_value = "default")]
        tenant: String,
        /// A label to recognise the key by.
        #[arg(long)]
        name: Option<String>,
    },
    /// List a tenant's keys, or the operator keys (never the secrets).
    List {
        #[arg(long, default_value = "default", conflicts_with = "operator")]
        tenant: String,
        /// The operator keys (of no tenant) instead of a tenant's.
        #[arg(long)]
        operator: bool,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by id (key_…); it stops working within seconds.
    Revoke { id: String },
    /// Replace the master key and re-encrypt everything, online.
    RotateMaster,
}

#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Create a tenant; prints its id.
    Create {
        /// Display name, e.g. "Riviera Yachts".
        name: String,
        /// The id (default: derived from the name).
        #[arg(long)]
        id: Option<String>,
    },
    /// List tenants.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain; name the first bad row.
    Verify {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SubscribersCommand {
    /// Print everything held about a subscriber as JSON.
    Export {
        /// The subscriber's id (the application's own).
        id: String,
        #[arg(long, default_value = "default")]
        tenant: TenantId,
    },
    /// Erase a subscriber's personal data everywhere it is kept; their
    /// opt-outs stay, as suppressions of the addresses' keyed hashes.
    Erase {
        id: String,
        #[arg(long, default_value = "default")]
        tenant: TenantId,
        /// Print what was erased as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DiscordCommand {
    /// Register `/find query:` and `/boat-status boat:` with the application
    /// (DISCORD_APPLICATION_ID, DISCORD_BOT_TOKEN), replacing its commands.
    RegisterCommands {
        /// A server id: register there only (takes effect at once); without
        /// it the commands are global.
        #[arg(long)]
        guild: Option<String>,
        /// The `[providers.NAME]` account to use when there are several.
        #[arg(long)]
        provider: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Dead notifications, newest first.
    List {
        #[arg(long, default_value = "default")]
        tenant: TenantId,
        /// How many, 1 to 1000 (the API's bounds).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=1000))]
        limit: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Queue a dead notification again (or every one with --all).
    Replay {
        /// Notification id.
        #[arg(required_unless_present = "all")]
        id: Option<String>,
        #[arg(long, conflicts_with = "id")]
        all: bool,
        #[arg(long, default_value = "default")]
        tenant: TenantId,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ProofArgs {
    #[command(subcommand)]
    pub command: Option<ProofCommand>,
    /// The event's id (evt_…).
    #[arg(required = true)]
    pub event_id: Option<String>,
    /// The tenant whose event it is; its key signs the proof.
    #[arg(long, default_value = "default")]
    pub tenant: TenantId,
    /// json: the signed export; html and pdf: printable renderings of it.
    #[arg(long, value_enum, default_value_t = ProofFormat::Json)]
    pub format: ProofFormat,
    /// Write the proof to this file instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProofFormat {
    Json,
    Html,
    Pdf,
}

#[derive(Debug, Subcommand)]
pub enum ProofCommand {
    /// Check a JSON export offline (no database, no network): its
    /// signature, its anchored digest and that it is unaltered. Exit 0
    /// when valid, 1 when not.
    Verify {
        /// The export, as `foghorn proof` or `GET /v1/events/{id}/proof` wrote it.
        file: PathBuf,
        /// The tenant's public key (base64, from `GET /v1/proof/public-key`):
        /// the export must be signed by it, not merely by the key it carries.
        #[arg(long)]
        public_key: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}
