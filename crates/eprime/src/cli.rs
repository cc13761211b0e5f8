//! The command line: every command and flag, with the help text `--help` prints.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

use crate::database::DEFAULT_DATABASE;

/// e-PRIME — Electronic Partnership Real-time Information, Management and Exchange System.
///
/// Keeps NATO's partnership programmes (declarations, IPCPs, ITPPs, their objectives, goals and
/// priority areas) and the cooperation activities carried out under them, and shows each user
/// exactly what they may see.
#[derive(Parser, Debug)]
#[command(name = "eprime", version, propagate_version = true)]
pub struct Cli {
    /// Database URL. SQLite: `sqlite://FILE` (created when missing). PostgreSQL:
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (the database must exist).
    #[arg(long, global = true, env = "EPRIME_DATABASE_URL", default_value = DEFAULT_DATABASE)]
    pub database: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server: the JSON API under /api/v1 and its OpenAPI document at /api/openapi.json.
    ///
    /// Stops cleanly on Ctrl-C or SIGTERM, finishing requests in flight. Logs go to standard
    /// error; set RUST_LOG (e.g. `RUST_LOG=debug`) to choose how much.
    Serve(ServeArgs),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Bring the database schema up to date and print its version.
    Migrate,
    /// Inspect or copy a whole database.
    #[command(subcommand)]
    Db(DbCommand),
    /// Read a partnership document (plain text, as extracted from a PDF or web page) into its
    /// structure — kind, partner, dates, objectives, priority issues and goals, priority areas,
    /// clauses — and store it. The same text twice changes nothing; a new text of a document
    /// already held supersedes it. What cannot be placed is reported with its line number.
    ImportDocument(ImportArgs),
    /// Line up the themes of two programmes (e.g. an IPCP's priority areas and an ITPP's goals):
    /// carried over, new, dropped, matched by the meaning of their words.
    CompareDocuments(CompareArgs),
}

/// How to print what was read.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The document's text file.
    pub file: std::path::PathBuf,
    /// The partner (ISO alpha-3, e.g. KOR) when the text does not name one; wins when given.
    #[arg(long)]
    pub partner: Option<String>,
    /// Only read and print the result; store nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The earlier programme's text file.
    pub a: std::path::PathBuf,
    /// The later programme's text file.
    pub b: std::path::PathBuf,
    /// How to print the comparison.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "EPRIME_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Fill an empty database with the Japan–NATO demo (partnerships, documents, activities and
    /// demo accounts whose password is `demo-password`, or EPRIME_DEMO_PASSWORD). A database
    /// that already holds data is left as it is.
    #[arg(long)]
    pub demo: bool,
    /// Mark the session cookie `Secure`: set this when users reach the server over HTTPS.
    #[arg(long, env = "EPRIME_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// How long a sign-in lasts, in hours.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=720))]
    pub session_hours: u64,
    /// SMTP relay for the daily e-mail digests (off when absent): `smtp://host:587?tls=required`
    /// (STARTTLS), `smtps://host:465` (TLS), or plain `smtp://host:25` on a trusted network;
    /// credentials as `smtp://user:password@host`.
    #[arg(long, env = "EPRIME_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The digests' sender.
    #[arg(long, env = "EPRIME_SMTP_FROM", default_value = "e-PRIME <eprime@localhost>")]
    pub smtp_from: String,
    /// The hour (UTC, 0–23) at which the day's digests go out.
    #[arg(long, env = "EPRIME_DIGEST_HOUR", default_value_t = 6, value_parser = clap::value_parser!(u8).range(0..=23))]
    pub digest_hour: u8,
    /// Days after a menu event's last session before missing feedback is flagged overdue.
    #[arg(long, env = "EPRIME_FEEDBACK_DUE_DAYS", default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=365))]
    pub feedback_due_days: u32,
    /// Days after a menu event's last session before a missing after-action report is flagged overdue.
    #[arg(long, env = "EPRIME_REPORT_DUE_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=365))]
    pub report_due_days: u32,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an account. Without --password-stdin a strong password is generated and printed.
    Add(UserAddArgs),
    /// List the accounts.
    List,
    /// Disable an account: it can no longer sign in and its sessions end.
    Disable {
        /// The account's username.
        username: String,
    },
    /// Enable a disabled account again.
    Enable {
        /// The account's username.
        username: String,
    },
    /// Set a new password (ends the account's sessions).
    Passwd {
        /// The account's username.
        username: String,
        /// Read the password from the first line of standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Args, Debug)]
pub struct UserAddArgs {
    /// Login name: 3–64 characters of a–z, 0–9, '.', '_' or '-'; a participant's is its e-mail
    /// address in lower case (as its nominations give it).
    pub username: String,
    /// One of nato_admin, nato_staff, auditor, partner_admin, partner_officer, ally_officer,
    /// provider, participant.
    #[arg(long)]
    pub role: String,
    /// The partner a partner_officer or partner_admin belongs to (ISO alpha-3, e.g. JPN).
    #[arg(long)]
    pub partner: Option<String>,
    /// The organisation an ally_officer (its nation, e.g. FRA) or provider (e.g. NDC) belongs to.
    #[arg(long)]
    pub organisation: Option<String>,
    /// The name shown for the account; defaults to the username.
    #[arg(long)]
    pub display_name: Option<String>,
    /// Read the password from the first line of standard input instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Report the backend, the schema version (applied, and the newest this binary knows), the
    /// rows of every table, and integrity: SQLite's integrity and foreign-key checks, every
    /// reference between tables, the change-log sequence. Changes nothing; exits non-zero when
    /// something is wrong (including migrations not yet applied).
    Check,
    /// Copy everything — reference data, partnerships, documents, activities, accounts,
    /// sessions and the change log with its sequence numbers — from one database into another,
    /// empty one (e.g. from SQLite to PostgreSQL), in one transaction, then verify row counts
    /// and a checksum per table. Stop the servers using the source first.
    Copy(CopyArgs),
}

#[derive(Args, Debug)]
pub struct CopyArgs {
    /// The database to copy from (default: --database). It is only read, and must be at this
    /// binary's schema version (run `eprime migrate` on it first if not).
    #[arg(long)]
    pub from: Option<String>,
    /// The empty database to copy into: a SQLite file (created when missing) or an existing
    /// PostgreSQL database (e.g. made with `createdb`). Migrated first; refused if it holds any row.
    #[arg(long)]
    pub to: String,
}
