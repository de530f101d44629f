-- Durable timers (an alert's next escalation step): set and cleared in the same transaction as the
-- events that decide them; claimed by one instance at a time for a lease.
CREATE TABLE timers (
    key           TEXT PRIMARY KEY,
    due_at        TEXT NOT NULL,   -- UTC, same format as events.ts (sorts by time)
    claimed_by    TEXT,
    claimed_until TEXT
);

CREATE INDEX timers_due ON timers (due_at);
