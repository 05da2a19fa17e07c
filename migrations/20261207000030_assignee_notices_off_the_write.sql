-- The assignee's "someone changed your item" notification leaves the writer's transaction
-- (issue 30's target: history adds at most 10 % to a one-click PATCH; the notification insert,
-- with its foreign keys and four indexes, cost the PATCH as much as the history row itself).
-- The history trigger now only marks, on the history rows it writes, whom to tell
-- (`notify_user_id`); the inbox's change relay, woken by the same commit, turns each marked
-- statement's rows into one notification and clears the mark in one transaction
-- (services/inbox/src/live/assignee_notices.rs), so a committed change is told exactly once,
-- a few milliseconds later.
ALTER TABLE interaction_history ADD COLUMN notify_user_id bigint;
CREATE INDEX idx_interaction_history_to_notify ON interaction_history (id)
    WHERE notify_user_id IS NOT NULL;

-- Notifications the old triggers would have sent and that are not sent yet cannot exist: they
-- were inserted with the change. Nothing to carry over.

CREATE OR REPLACE FUNCTION interaction_history_after_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    actor record := relance_actor();
BEGIN
    INSERT INTO interaction_history
        (interaction_id, actor_user_id, actor_system, field, old_value, new_value, notify_user_id)
    SELECT n.id, actor.user_id, actor.system, f.field, f.old_value, f.new_value,
           -- A user's change of an item someone else holds tells that someone.
           CASE WHEN actor.user_id IS NOT NULL AND n.assignee_id <> actor.user_id
                THEN n.assignee_id END
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    CROSS JOIN LATERAL (VALUES
        ('status', to_jsonb(o.status), to_jsonb(n.status)),
        ('assignee_id', to_jsonb(o.assignee_id), to_jsonb(n.assignee_id)),
        ('next_action_at', to_jsonb(o.next_action_at), to_jsonb(n.next_action_at)),
        ('title', to_jsonb(o.title), to_jsonb(n.title)),
        ('description', to_jsonb(o.description), to_jsonb(n.description)),
        ('type', to_jsonb(o.type), to_jsonb(n.type))
    ) AS f(field, old_value, new_value)
    WHERE f.old_value IS DISTINCT FROM f.new_value;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION interaction_history_after_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    actor record := relance_actor();
BEGIN
    INSERT INTO interaction_history
        (interaction_id, actor_user_id, actor_system, field, notify_user_id)
    SELECT id, actor.user_id, actor.system, 'created',
           CASE WHEN actor.user_id IS NOT NULL AND assignee_id <> actor.user_id
                THEN assignee_id END
    FROM new_rows;
    RETURN NULL;
END
$$;
