-- The live stream keeps to each viewer's scope (issue 30): a change carries the assignee the
-- item had before it, so an item reassigned out of a viewer's scope reaches them once as
-- `removed`. Updates and deletions capture from the old rows (the ids are the same).
ALTER TABLE interaction_changes ADD COLUMN previous_assignee_id bigint;

CREATE OR REPLACE FUNCTION interaction_changes_capture() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO interaction_changes (interaction_id, change, previous_assignee_id)
    SELECT id, TG_ARGV[0], CASE WHEN TG_ARGV[0] = 'created' THEN NULL ELSE assignee_id END
    FROM changed_rows ORDER BY id;
    IF FOUND THEN
        -- Wakes the relay at commit (notifications are delivered only if the transaction
        -- commits, and folded into one per transaction).
        PERFORM pg_notify('interaction_changes', '');
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER interaction_changes_update ON crm_interactions;
CREATE TRIGGER interaction_changes_update AFTER UPDATE ON crm_interactions
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION interaction_changes_capture('updated');
