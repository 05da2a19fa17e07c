-- Who changed what (issue 30): every change of an interaction's status, assignee, next action,
-- title, description or type, and its creation, written by the statement that makes it, so
-- no path (the API, bulk, scoring, SQL by hand) can forget it. The actor is the transaction's
-- `relance.actor` setting (`user:<id>` or `system:<name>`), set by each writer
-- (services/inbox/src/history.rs, scoring); unset: `system:unknown`.
CREATE TABLE interaction_history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    interaction_id bigint NOT NULL REFERENCES crm_interactions (id) ON DELETE CASCADE,
    at timestamptz NOT NULL DEFAULT now(),
    actor_user_id bigint REFERENCES users (id) ON DELETE SET NULL,
    -- A system actor's name (`scoring`, `reminder`, `crm`); NULL for a user.
    actor_system text,
    -- `created`, or the field changed.
    field text NOT NULL,
    old_value jsonb,
    new_value jsonb
);
CREATE INDEX idx_interaction_history ON interaction_history (interaction_id, id DESC);

-- The actor of the current transaction: (user id, system name), exactly one set.
CREATE FUNCTION relance_actor(OUT user_id bigint, OUT system text)
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    actor text := coalesce(nullif(current_setting('relance.actor', true), ''), 'system:unknown');
BEGIN
    IF actor LIKE 'user:%' THEN
        user_id := nullif(split_part(actor, ':', 2), '')::bigint;
    ELSE
        system := coalesce(nullif(split_part(actor, ':', 2), ''), 'unknown');
    END IF;
END
$$;

-- When a user changes or assigns an item someone else holds, that someone gets one
-- notification naming who (`assigned` or `changed`); the reminder publishes it like its own.
CREATE FUNCTION interaction_history_after_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    actor record := relance_actor();
BEGIN
    WITH changed AS (
        SELECT n.id, n.title, o.assignee_id AS old_assignee, n.assignee_id AS new_assignee,
               f.field, f.old_value, f.new_value
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        CROSS JOIN LATERAL (VALUES
            ('status', to_jsonb(o.status), to_jsonb(n.status)),
            ('assignee_id', to_jsonb(o.assignee_id), to_jsonb(n.assignee_id)),
            ('next_action_at', to_jsonb(o.next_action_at), to_jsonb(n.next_action_at)),
            ('title', to_jsonb(o.title), to_jsonb(n.title)),
            ('description', to_jsonb(o.description), to_jsonb(n.description)),
            ('type', to_jsonb(o.type), to_jsonb(n.type))
        ) AS f(field, old_value, new_value)
        WHERE f.old_value IS DISTINCT FROM f.new_value
    ), written AS (
        INSERT INTO interaction_history
            (interaction_id, actor_user_id, actor_system, field, old_value, new_value)
        SELECT id, actor.user_id, actor.system, field, old_value, new_value FROM changed
    )
    INSERT INTO notifications (user_id, kind, interaction_id, title, payload)
    SELECT c.new_assignee,
           CASE WHEN bool_or(c.field = 'assignee_id') THEN 'assigned' ELSE 'changed' END,
           c.id, c.title,
           jsonb_build_object('by', actor.user_id,
                              'by_name', (SELECT full_name FROM users WHERE id = actor.user_id),
                              'fields', jsonb_agg(c.field ORDER BY c.field))
    FROM changed c
    WHERE actor.user_id IS NOT NULL AND c.new_assignee IS NOT NULL
      AND c.new_assignee <> actor.user_id
    GROUP BY c.id, c.title, c.new_assignee;
    RETURN NULL;
END
$$;

CREATE FUNCTION interaction_history_after_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    actor record := relance_actor();
BEGIN
    INSERT INTO interaction_history (interaction_id, actor_user_id, actor_system, field)
    SELECT id, actor.user_id, actor.system, 'created' FROM new_rows;
    INSERT INTO notifications (user_id, kind, interaction_id, title, payload)
    SELECT n.assignee_id, 'assigned', n.id, n.title,
           jsonb_build_object('by', actor.user_id,
                              'by_name', (SELECT full_name FROM users WHERE id = actor.user_id),
                              'fields', jsonb_build_array('created'))
    FROM new_rows n
    WHERE actor.user_id IS NOT NULL AND n.assignee_id IS NOT NULL
      AND n.assignee_id <> actor.user_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER interaction_history_update AFTER UPDATE ON crm_interactions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION interaction_history_after_update();
CREATE TRIGGER interaction_history_insert AFTER INSERT ON crm_interactions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION interaction_history_after_insert();
