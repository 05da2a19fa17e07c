-- Live inbox: every change to an interaction, whoever makes it (scoring, the inbox API, the
-- reminder, an operator's SQL), is captured in the same transaction as the change itself, so
-- it cannot be lost between a commit and a publish. A relay (in the inbox service) publishes
-- the rows to JetStream (`interactions.changed.<id>`, `Nats-Msg-Id` = the row id) and deletes
-- them once acknowledged.
CREATE TABLE interaction_changes (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    interaction_id  BIGINT NOT NULL,
    -- created | updated | deleted
    change          TEXT NOT NULL,
    changed_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Statement-level, with transition tables: a bulk change of 50,000 rows is one INSERT here.
CREATE FUNCTION interaction_changes_capture() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO interaction_changes (interaction_id, change)
    SELECT id, TG_ARGV[0] FROM changed_rows ORDER BY id;
    IF FOUND THEN
        -- Wakes the relay at commit (notifications are delivered only if the transaction
        -- commits, and folded into one per transaction).
        PERFORM pg_notify('interaction_changes', '');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER interaction_changes_insert AFTER INSERT ON crm_interactions
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION interaction_changes_capture('created');
CREATE TRIGGER interaction_changes_update AFTER UPDATE ON crm_interactions
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION interaction_changes_capture('updated');
CREATE TRIGGER interaction_changes_delete AFTER DELETE ON crm_interactions
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION interaction_changes_capture('deleted');

-- Hot-lead loop: a person's score crossing up through the hot threshold creates one
-- "Lead chaud" interaction, then the loop is disarmed until the score falls below a lower mark
-- (hysteresis). People already hot when this ships are not announced again.
ALTER TABLE lead_scores ADD COLUMN hot_armed BOOLEAN NOT NULL DEFAULT true;
UPDATE lead_scores SET hot_armed = score < 15;
