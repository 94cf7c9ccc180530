-- The marketplace's production interface (postgres): callback nonces, License 1.0 orders,
-- PL… code bridges, reconciliation claims, and the marketplace time of a license's last
-- status change (so FREEZE / UNFREEZE arriving out of order end in the latest state).
ALTER TABLE licenses ADD COLUMN status_changed_ms BIGINT;

-- Callback nonces, kept at least as long as a timestamp is accepted; shared by every
-- service instance on this database.
CREATE TABLE marketplace_nonces (
    nonce   TEXT PRIMARY KEY NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX marketplace_nonces_expires ON marketplace_nonces (expires);

-- License 1.0 getLicense: one license per order, whatever the retries.
CREATE TABLE marketplace_orders (
    order_id    TEXT PRIMARY KEY NOT NULL,
    license_id  TEXT NOT NULL REFERENCES licenses (license_id),
    instance_id TEXT NOT NULL UNIQUE
);

-- PL… codes: recorded before the marketplace is called, completed with the license.
CREATE TABLE bridges (
    marketplace_license TEXT PRIMARY KEY NOT NULL,
    license_id          TEXT REFERENCES licenses (license_id),
    state               TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    created             BIGINT NOT NULL,
    updated             BIGINT NOT NULL
);

-- The daily reconciliation: exactly one instance does each batch of a run.
CREATE TABLE reconcile_claims (
    run        TEXT NOT NULL,
    batch      BIGINT NOT NULL,
    claimed_by TEXT NOT NULL,
    claimed_at BIGINT NOT NULL,
    PRIMARY KEY (run, batch)
);
