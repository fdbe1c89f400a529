//! Admin subcommands over the database: `migrate`, `token create|revoke`,
//! `webhook-secret show|rotate`. Each migrates first, so they work on a fresh data dir.
//! Results go to stdout alone (scripts capture them); messages go to stderr.

use std::io::Read as _;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use motion_core::clock::{Clock, SystemClock};
use motion_core::ids::{TokenHash, new_api_token};
use motion_core::ports::{TokenStore, UserStore};
use motion_storage::SqliteStore;

use crate::app::{open_store, webhook_secrets};
use crate::cli::{RefusedInput, load_config};
use crate::config::{Config, Sources};

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub action: TokenAction,
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Create the user if needed and print a new API token (only the token, on stdout).
    Create {
        #[arg(long)]
        user: String,
    },
    /// Revoke a token; `-` reads it from stdin (keeps it out of the process list).
    Revoke { token: String },
}

#[derive(Debug, Args)]
pub struct WebhookSecretArgs {
    #[command(subcommand)]
    pub action: WebhookSecretAction,
}

#[derive(Debug, Subcommand)]
pub enum WebhookSecretAction {
    /// Print the user's webhook secret (`whsec_…`), creating it if the user has none.
    Show {
        #[arg(long)]
        user: String,
    },
    /// Replace the user's webhook secret and print the new one.
    Rotate {
        #[arg(long)]
        user: String,
    },
}

async fn open(sources: Sources) -> anyhow::Result<(Config, Arc<SqliteStore>)> {
    let config = load_config(sources, vec![])?;
    let store = open_store(&config).await?;
    Ok((config, store))
}

pub async fn migrate(sources: Sources) -> anyhow::Result<()> {
    let (_, store) = open(sources).await?;
    store.close().await;
    eprintln!("database is up to date");
    Ok(())
}

/// Creates user `name` (with its webhook secret) if needed, issues a token and returns it.
pub async fn create_token(
    config: &Config,
    store: &Arc<SqliteStore>,
    name: &str,
) -> anyhow::Result<String> {
    // Names are checked when a user is made; users from before the rule keep working.
    let existing = store.user_by_name(name).await.context("look the user up")?;
    if existing.is_none() {
        check_user_name(name)?;
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let secrets = webhook_secrets(config, store, clock.clone())?;
    let user = secrets
        .ensure_user_secret(name)
        .await
        .context("create the user")?;
    let token = new_api_token();
    store
        .add_token(user, &TokenHash::of_token(&token), clock.now_ms())
        .await
        .context("store the token")?;
    Ok(token)
}

/// Names of new users are what an operator types and logs show: short, printable, no spaces, so
/// that `--user "$(cat file)"` with a stray newline or a pasted paragraph is refused, not stored.
fn check_user_name(name: &str) -> anyhow::Result<()> {
    const MAX_CHARS: usize = 64;
    if name.is_empty() {
        return Err(RefusedInput("--user must not be empty".into()).into());
    }
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+');
    if name.chars().count() > MAX_CHARS || !name.chars().all(allowed) {
        return Err(RefusedInput(format!(
            "--user must be at most {MAX_CHARS} letters, digits or . _ - @ + (no spaces or control characters)"
        ))
        .into());
    }
    Ok(())
}

pub async fn token(sources: Sources, args: TokenArgs) -> anyhow::Result<()> {
    if let TokenAction::Create { user } = &args.action
        && user.is_empty()
    {
        // Before the store is opened: no name can be that of an existing user.
        return Err(RefusedInput("--user must not be empty".into()).into());
    }
    let (config, store) = open(sources).await?;
    let result = match args.action {
        // A token is shown once only: unread (a closed stdout), that is a failure.
        TokenAction::Create { user } => match create_token(&config, &store, &user).await {
            Ok(t) => crate::cli::print_result(&format!("{t}\n")),
            Err(e) => Err(e),
        },
        TokenAction::Revoke { token } => revoke(&store, token).await,
    };
    store.close().await;
    result
}

async fn revoke(store: &SqliteStore, token: String) -> anyhow::Result<()> {
    let token = if token == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("read the token from stdin")?;
        s.trim().to_owned()
    } else {
        token
    };
    if store
        .revoke_token(&TokenHash::of_token(&token))
        .await
        .context("revoke")?
    {
        eprintln!("token revoked");
        Ok(())
    } else {
        Err(RefusedInput("unknown or already revoked token".into()).into())
    }
}

pub async fn webhook_secret(sources: Sources, args: WebhookSecretArgs) -> anyhow::Result<()> {
    let (config, store) = open(sources).await?;
    let secrets = webhook_secrets(&config, &store, Arc::new(SystemClock))?;
    let result = match args.action {
        WebhookSecretAction::Show { user } => secrets.show_by_name(&user).await,
        WebhookSecretAction::Rotate { user } => secrets.rotate_by_name(&user).await,
    };
    store.close().await;
    crate::cli::print_result(&format!("{}\n", result?))
}

#[cfg(test)]
mod tests {
    use super::check_user_name;

    #[test]
    fn user_names_are_short_and_printable() {
        for good in [
            "admin",
            "henry",
            "ana.maria+studio@example.com",
            "Jürgen_2",
            "a-b",
        ] {
            check_user_name(good).unwrap();
        }
        let long = "x".repeat(65);
        for bad in [
            "",
            "two words",
            "line\nbreak",
            "tab\t",
            "semi;colon",
            long.as_str(),
        ] {
            assert!(check_user_name(bad).is_err(), "{bad:?}");
        }
        check_user_name(&"x".repeat(64)).unwrap();
    }
}
