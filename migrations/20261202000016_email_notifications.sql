-- Notifications by email: each user's preferences, and the outbox the reminder sends from.

CREATE TYPE notify_email_mode AS ENUM ('off', 'instant', 'daily');

ALTER TABLE users
    ADD COLUMN notify_email notify_email_mode NOT NULL DEFAULT 'instant',
    -- IANA zone of the digest hour and of dates in emails; NULL: inbox.default_timezone.
    ADD COLUMN timezone TEXT,
    ADD COLUMN digest_hour SMALLINT NOT NULL DEFAULT 8 CHECK (digest_hour BETWEEN 0 AND 23);

CREATE TYPE email_kind AS ENUM ('overdue', 'digest');
CREATE TYPE email_outbox_status AS ENUM ('pending', 'sent', 'failed', 'skipped');

-- One row per email to send. Rows hold references, not text: the message is rendered when it is
-- sent, so erasing a person (which deletes the notifications about them) leaves no copy of
-- their name here. `overdue` rows are unique per notification and `digest` rows per user and
-- local day, so replicas and repeated passes enqueue each email once.
CREATE TABLE email_outbox (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id          BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind             email_kind NOT NULL,
    notification_id  BIGINT REFERENCES notifications(id) ON DELETE CASCADE,
    digest_date      DATE,
    status           email_outbox_status NOT NULL DEFAULT 'pending',
    created_at       TIMESTAMPTZ NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- A pending row is not tried before this (backoff after a failure).
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    sent_at          TIMESTAMPTZ,
    last_error       TEXT,
    CONSTRAINT ck_email_outbox_overdue CHECK ((kind = 'overdue') = (notification_id IS NOT NULL)),
    CONSTRAINT ck_email_outbox_digest CHECK ((kind = 'digest') = (digest_date IS NOT NULL)),
    CONSTRAINT uq_email_outbox_notification UNIQUE (notification_id),
    CONSTRAINT uq_email_outbox_digest UNIQUE (user_id, digest_date)
);
CREATE INDEX idx_email_outbox_pending ON email_outbox (next_attempt_at, id) WHERE status = 'pending';
