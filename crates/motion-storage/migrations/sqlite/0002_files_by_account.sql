-- Account deletion removes every file of the account in one statement.
CREATE INDEX files_account ON files (account_id);
