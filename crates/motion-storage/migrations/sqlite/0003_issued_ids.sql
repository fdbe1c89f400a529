-- Every task, work and account id ever issued (contract §2.8: unique across the whole server,
-- never reissued, a workId never equals a task id). Each process generates its ids alone, so
-- processes sharing this database can draw the same one; a write claims its id here first and
-- a second claim fails, and the service draws another. Rows stay when what they named is gone.
CREATE TABLE issued_ids (id INTEGER PRIMARY KEY);
INSERT OR IGNORE INTO issued_ids (id) SELECT id FROM accounts;
INSERT OR IGNORE INTO issued_ids (id) SELECT id FROM tasks;
INSERT OR IGNORE INTO issued_ids (id) SELECT id FROM works;
