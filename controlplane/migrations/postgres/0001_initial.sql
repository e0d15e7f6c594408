-- Audit records from the data plane, one row per sequence number (append-only).
CREATE TABLE audit (
    seq BIGINT PRIMARY KEY,
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
);
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
    id BIGSERIAL PRIMARY KEY,
    ts_ns BIGINT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    details TEXT NOT NULL
);

-- Every limits snapshot published, newest version last (append-only).
CREATE TABLE limits_versions (
    version BIGINT PRIMARY KEY,
    ts_ns BIGINT NOT NULL,
    actor TEXT NOT NULL,
    kill INTEGER NOT NULL,
    spec TEXT NOT NULL
);

CREATE FUNCTION tickwire_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION tickwire_append_only();
CREATE TRIGGER mutations_append_only BEFORE UPDATE OR DELETE ON mutations
    FOR EACH ROW EXECUTE FUNCTION tickwire_append_only();
CREATE TRIGGER limits_append_only BEFORE UPDATE OR DELETE ON limits_versions
    FOR EACH ROW EXECUTE FUNCTION tickwire_append_only();
