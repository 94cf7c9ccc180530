-- The seat ledger (SQLite). Times are seconds since the epoch; booleans 0/1.
CREATE TABLE licenses (
    license_id          TEXT PRIMARY KEY NOT NULL,
    product             TEXT NOT NULL,
    sku                 TEXT NOT NULL,
    seats               INTEGER NOT NULL CHECK (seats > 0),
    not_before          INTEGER NOT NULL,
    expires             INTEGER,
    features            TEXT NOT NULL,
    trial               INTEGER NOT NULL,
    instance_id         TEXT,
    order_id            TEXT,
    marketplace_license TEXT,
    code                TEXT,
    status              TEXT NOT NULL CHECK (status IN ('active', 'frozen', 'released')),
    created             INTEGER NOT NULL,
    updated             INTEGER NOT NULL
);
CREATE INDEX licenses_order ON licenses (order_id);
CREATE INDEX licenses_instance ON licenses (instance_id);
CREATE UNIQUE INDEX licenses_marketplace ON licenses (marketplace_license)
    WHERE marketplace_license IS NOT NULL;
CREATE INDEX licenses_created ON licenses (created);

CREATE TABLE activations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    license_id     TEXT NOT NULL REFERENCES licenses (license_id),
    machine        TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    certificate    TEXT NOT NULL,
    activated      INTEGER NOT NULL,
    deactivated    INTEGER,
    deactivated_by TEXT
);
-- One live seat per machine and license, whatever the code does.
CREATE UNIQUE INDEX activations_live ON activations (license_id, machine)
    WHERE deactivated IS NULL;
CREATE INDEX activations_license ON activations (license_id);

CREATE TABLE updates (
    license_id  TEXT NOT NULL REFERENCES licenses (license_id),
    sequence    INTEGER NOT NULL CHECK (sequence > 0),
    action      TEXT NOT NULL,
    update_text TEXT NOT NULL,
    issued      INTEGER NOT NULL,
    PRIMARY KEY (license_id, sequence)
);

CREATE TABLE audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    who        TEXT NOT NULL CHECK (who IN ('buyer', 'admin', 'marketplace')),
    client     TEXT,
    action     TEXT NOT NULL,
    license_id TEXT,
    detail     TEXT NOT NULL
);
CREATE INDEX audit_license ON audit (license_id);

CREATE TABLE marketplace_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              INTEGER NOT NULL,
    license_id      TEXT,
    activity        TEXT NOT NULL,
    order_id        TEXT,
    idempotency_key TEXT NOT NULL UNIQUE,
    result_code     TEXT NOT NULL,
    payload         TEXT NOT NULL
);
CREATE INDEX marketplace_events_license ON marketplace_events (license_id);
