-- Audit records from the data plane, one row per sequence number (append-only).
CREATE TABLE audit (
    seq BIGINT PRIMARY KEY NOT NULL,
    ts_ns BIGINT NOT NULL,
    kind TEXT NOT NULL,
    kind_code INTEGER NOT NULL,
    reason INTEGER NOT NULL,
    side TEXT NOT NULL,
    strategy INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    token TEXT NOT NULL,
    limits_version BIGINT NOT NULL,
    price BIGINT NOT NULL,
    qty BIGINT NOT NULL,
    order_id BIGINT NOT NULL,
    trigger_seq BIGINT NOT NULL,
    aux BIGINT NOT NULL,
    aux2 BIGINT NOT NULL,
    actor TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX audit_ts ON audit (ts_ns);
CREATE INDEX audit_symbol_seq ON audit (symbol, seq);
-- Partial indexes: each row updates at most two of them (inserts stay fast).
-- Orders (intents, kind 1) and fills (executions, kind 12) by sequence.
CREATE INDEX audit_intents ON audit (seq) WHERE kind_code = 1;
CREATE INDEX audit_fills ON audit (seq) WHERE kind_code = 12;
-- Venue events (kinds 10..16) by order token: an order's status and filled quantity.
CREATE INDEX audit_venue_token ON audit (token, seq) WHERE kind_code >= 10 AND kind_code <= 16;

-- Every mutation made through the API, with its actor (append-only).
CREATE TABLE mutations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ns BIGINT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    details TEXT NOT NULL
);

-- Every limits snapshot published, newest version last (append-only).
CREATE TABLE limits_versions (
    version BIGINT PRIMARY KEY NOT NULL,
    ts_ns BIGINT NOT NULL,
    actor TEXT NOT NULL,
    kill INTEGER NOT NULL,
    spec TEXT NOT NULL
);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER mutations_no_update BEFORE UPDATE ON mutations BEGIN SELECT RAISE(ABORT, 'mutations is append-only'); END;
CREATE TRIGGER mutations_no_delete BEFORE DELETE ON mutations BEGIN SELECT RAISE(ABORT, 'mutations is append-only'); END;
CREATE TRIGGER limits_no_update BEFORE UPDATE ON limits_versions BEGIN SELECT RAISE(ABORT, 'limits_versions is append-only'); END;
CREATE TRIGGER limits_no_delete BEFORE DELETE ON limits_versions BEGIN SELECT RAISE(ABORT, 'limits_versions is append-only'); END;
