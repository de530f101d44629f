-- Durable timers (an alert's next escalation step): set and cleared in the same transaction as the
-- events that decide them; claimed with FOR UPDATE SKIP LOCKED so two instances never both run one.
CREATE TABLE timers (
    key           text PRIMARY KEY,
    due_at        timestamptz NOT NULL,
    claimed_by    text,
    claimed_until timestamptz
);

CREATE INDEX timers_due ON timers (due_at);
