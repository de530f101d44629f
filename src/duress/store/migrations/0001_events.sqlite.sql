-- The event log: append-only, totally ordered by seq.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, even after the last row goes
    type         TEXT    NOT NULL,
    ts           TEXT    NOT NULL,                   -- UTC, 2026-05-09T07:35:25.123456Z (sorts by time)
    subject_kind TEXT    NOT NULL,
    subject_id   TEXT    NOT NULL,
    payload      TEXT    NOT NULL CHECK (json_valid(payload)),
    recorded_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))  -- server clock
);

CREATE INDEX events_subject ON events (subject_kind, subject_id, seq);
CREATE INDEX events_type ON events (type, seq);

-- The audit trail is the event log: refuse changes and deletions.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: UPDATE is not allowed');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: DELETE is not allowed');
END;
