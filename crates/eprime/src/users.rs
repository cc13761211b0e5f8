//! `eprime user …`: account management from the command line.

use std::io::BufRead;

use anyhow::{Context, bail};
use eprime_domain::{OrgCode, PartnerCode, Role, RoleBinding, password};
use eprime_server::passwords::hash_password;
use eprime_store::{DynStore, NewUser, UserFilter};
use rand::Rng;

use crate::cli::{UserAddArgs, UserCommand};

pub async fn run(store: &DynStore, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add(args) => add(store, args).await,
        UserCommand::List => list(store).await,
        UserCommand::Disable { username } => {
            store.set_user_disabled(None, &username, true).await.with_context(|| format!("disabling {username}"))?;
            println!("{username} is disabled; its sessions have ended");
            Ok(())
        }
        UserCommand::Enable { username } => {
            store.set_user_disabled(None, &username, false).await.with_context(|| format!("enabling {username}"))?;
            println!("{username} is enabled");
            Ok(())
        }
        UserCommand::Passwd { username, password_stdin } => {
            let (password, generated) = obtain_password(password_stdin, &username)?;
            let hash = hash_password(&password).map_err(anyhow::Error::msg)?;
            store
                .set_user_password(None, &username, hash)
                .await
                .with_context(|| format!("changing the password of {username}"))?;
            announce(&username, &password, generated, "password changed");
            Ok(())
        }
    }
}

async fn add(store: &DynStore, args: UserAddArgs) -> anyhow::Result<()> {
    let role = Role::parse(&args.role).map_err(|e| anyhow::anyhow!("--role: {}", e.message))?;
    password::check_account_name(&args.username, role).map_err(|e| anyhow::anyhow!("{e}"))?;
    let partner = args
        .partner
        .as_deref()
        .map(PartnerCode::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--partner: {}", e.message))?;
    let organisation = args
        .organisation
        .as_deref()
        .map(OrgCode::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--organisation: {}", e.message))?;
    let binding =
        RoleBinding::new(role, partner, organisation).map_err(|e| anyhow::anyhow!("--{}: {}", e.field, e.message))?;
    let (password, generated) = obtain_password(args.password_stdin, &args.username)?;
    let hash = hash_password(&password).map_err(anyhow::Error::msg)?;
    let display_name = args.display_name.unwrap_or_else(|| args.username.clone());
    store
        .create_user(None, NewUser { username: args.username.clone(), display_name, binding, password_hash: hash })
        .await
        .with_context(|| format!("creating {}", args.username))?;
    announce(&args.username, &password, generated, "created");
    Ok(())
}

async fn list(store: &DynStore) -> anyhow::Result<()> {
    let users = store.list_users(&UserFilter::default()).await?;
    println!("{:<24} {:<16} {:<8} {:<14} STATUS", "USERNAME", "ROLE", "PARTNER", "ORGANISATION");
    for user in users {
        println!(
            "{:<24} {:<16} {:<8} {:<14} {}",
            user.username,
            user.binding.role.as_str(),
            user.binding.partner.as_ref().map_or("-", |p| p.as_str()),
            user.binding.organisation.as_ref().map_or("-", |o| o.as_str()),
            if user.disabled { "disabled" } else { "active" }
        );
    }
    Ok(())
}

/// The password from standard input (checked against the policy), or a generated one.
fn obtain_password(from_stdin: bool, username: &str) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        return Ok((generate_password(), true));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("standard input held no password (expected it on the first line)");
    }
    password::check(&password, username).map_err(|e| anyhow::anyhow!("password: {}", e.message))?;
    Ok((password, false))
}

/// 20 characters from an alphabet without look-alikes: about 115 bits.
fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

fn announce(username: &str, password: &str, generated: bool, what: &str) {
    if generated {
        println!("{username}: {what}; password: {password}");
    } else {
        println!("{username}: {what}");
    }
}
