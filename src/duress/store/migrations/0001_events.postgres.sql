-- The event log: append-only, totally ordered by seq.
CREATE TABLE events (
    seq          bigserial   PRIMARY KEY,
    type         text        NOT NULL,
    ts           timestamptz NOT NULL,
    subject_kind text        NOT NULL,
    subject_id   text        NOT NULL,
    payload      jsonb       NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()  -- server clock, start of the appending transaction
);

CREATE INDEX events_subject ON events (subject_kind, subject_id, seq);
CREATE INDEX events_type ON events (type, seq);

-- The audit trail is the event log: refuse changes and deletions (TRUNCATE too).
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % is not allowed', TG_OP;
END;
$$;

CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();
