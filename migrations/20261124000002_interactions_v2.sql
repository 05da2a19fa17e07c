-- Interactions V2: the workflow inbox fields (status, assignee, next action and its reminder).

CREATE TYPE interaction_status AS ENUM ('todo', 'in_progress', 'done');

ALTER TABLE crm_interactions
    ADD COLUMN status          interaction_status NOT NULL DEFAULT 'todo',
    ADD COLUMN assignee_id     BIGINT REFERENCES users(id) ON DELETE SET NULL,
    ADD COLUMN next_action_at  TIMESTAMPTZ,
    -- When the assignee was reminded of the current next_action_at; NULL re-arms the reminder.
    ADD COLUMN notified_at     TIMESTAMPTZ,
    ADD COLUMN linked_task_id  BIGINT REFERENCES tasks(id) ON DELETE SET NULL,
    ADD COLUMN linked_event_id BIGINT;

CREATE INDEX idx_interactions_status_assignee ON crm_interactions (status, assignee_id);
CREATE INDEX idx_interactions_next_action ON crm_interactions (next_action_at)
    WHERE next_action_at IS NOT NULL;
