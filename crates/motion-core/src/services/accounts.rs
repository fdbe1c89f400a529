//! Accounts (contract §3) and account selection (§2.4).

use std::sync::Arc;

use crate::clock::Clock;
use crate::domain::{Account, AccountInput, UserId};
use crate::error::{ErrorCode, ServiceError};
use crate::ids::IdGenerator;
use crate::ports::{AccountStore, AccountUpsert, BlobStore, FileStore, WorkerSignals};
use crate::services::janitor;

/// Default `limits.max_accounts_per_user`.
pub const DEFAULT_MAX_ACCOUNTS: u32 = 10;

pub struct AccountService {
    accounts: Arc<dyn AccountStore>,
    files: Arc<dyn FileStore>,
    blobs: Arc<dyn BlobStore>,
    signals: Arc<dyn WorkerSignals>,
    clock: Arc<dyn Clock>,
    ids: IdGenerator,
    max_accounts: u32,
}

/// Result of a create-or-replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upserted {
    pub account: Account,
    /// true → 201, false → 200.
    pub created: bool,
}

impl AccountService {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        accounts: Arc<dyn AccountStore>,
        files: Arc<dyn FileStore>,
        blobs: Arc<dyn BlobStore>,
        signals: Arc<dyn WorkerSignals>,
        clock: Arc<dyn Clock>,
        ids: IdGenerator,
        max_accounts: u32,
    ) -> Self {
        Self {
            accounts,
            files,
            blobs,
            signals,
            clock,
            ids,
            max_accounts,
        }
    }

    /// §2.4: the account a request acts on. `email` is lowercased here (never trimmed).
    pub async fn select(&self, user: UserId, email: Option<&str>) -> Result<Account, ServiceError> {
        if let Some(raw) = email {
            let email = raw.to_ascii_lowercase();
            return self
                .accounts
                .account(user, &email)
                .await?
                .ok_or(ErrorCode::AccountNotFound { email }.into());
        }
        let mut all = self.accounts.list_accounts(user).await?;
        match all.len() {
            0 => Err(ErrorCode::ConfigurationNotFound.into()),
            1 => Ok(all.remove(0)),
            _ => Err(ErrorCode::EmailRequiredForSeveralAccounts.into()),
        }
    }

    /// §3.2: creates (201) or replaces maxJobs and replyUrl (200). The input is already
    /// validated by the parameter layer; the email is lowercased here.
    pub async fn upsert(
        &self,
        user: UserId,
        input: AccountInput,
    ) -> Result<Upserted, ServiceError> {
        let input = AccountInput {
            email: input.email.to_ascii_lowercase(),
            ..input
        };
        let now = self.clock.now_ms();
        let upserted = self
            .ids
            .with_fresh_id(|id| {
                self.accounts
                    .upsert_account(user, &input, id, self.max_accounts, now)
            })
            .await?;
        match upserted {
            AccountUpsert::Created(account) => Ok(Upserted {
                account,
                created: true,
            }),
            AccountUpsert::Updated(account) => Ok(Upserted {
                account,
                created: false,
            }),
            AccountUpsert::LimitReached => Err(ErrorCode::AccountLimit {
                max: u64::from(self.max_accounts),
            }
            .into()),
        }
    }

    /// §3.3: all accounts ordered by email; 404 "Configuration not found" when none.
    pub async fn list(&self, user: UserId) -> Result<Vec<Account>, ServiceError> {
        let all = self.accounts.list_accounts(user).await?;
        if all.is_empty() {
            return Err(ErrorCode::ConfigurationNotFound.into());
        }
        Ok(all)
    }

    /// §3.4: one account by (percent-decoded) email, lowercased here.
    pub async fn get(&self, user: UserId, email: &str) -> Result<Account, ServiceError> {
        let email = email.to_ascii_lowercase();
        self.accounts
            .account(user, &email)
            .await?
            .ok_or(ErrorCode::AccountNotFound { email }.into())
    }

    /// §3.5: deletes the account and all it owns; stops its running tasks. Returns the
    /// lowercased email. Blobs are purged best-effort now; the janitor retries the rest.
    pub async fn delete(&self, user: UserId, email: &str) -> Result<String, ServiceError> {
        let email = email.to_ascii_lowercase();
        let Some(deletion) = self.accounts.delete_account(user, &email).await? else {
            return Err(ErrorCode::AccountNotFound { email }.into());
        };
        for task in deletion.running_tasks {
            self.signals.cancel_running(task);
        }
        janitor::purge_trash_best_effort(self.files.as_ref(), self.blobs.as_ref()).await;
        Ok(email)
    }
}
