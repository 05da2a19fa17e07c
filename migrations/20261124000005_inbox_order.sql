-- The inbox orders by next_action_at ASC NULLS LAST, created_at DESC, id DESC. Folding "no next
-- action" into 'infinity' gives one non-null sort key, so due filters and keyset pages are plain
-- index ranges. Nothing writes this column; it follows next_action_at.
ALTER TABLE crm_interactions
    ADD COLUMN next_action_sort_at TIMESTAMPTZ
        GENERATED ALWAYS AS (COALESCE(next_action_at, 'infinity'::timestamptz)) STORED;

-- The default inbox (not done), for everyone and per assignee (NULL = unassigned).
CREATE INDEX idx_interactions_inbox_open
    ON crm_interactions (next_action_sort_at, created_at DESC, id DESC)
    WHERE status <> 'done';
CREATE INDEX idx_interactions_inbox_assignee_open
    ON crm_interactions (assignee_id, next_action_sort_at, created_at DESC, id DESC)
    WHERE status <> 'done';
-- An explicit status (done included) and the per-assignee stats; supersedes (status, assignee_id).
CREATE INDEX idx_interactions_inbox_assignee_status
    ON crm_interactions (assignee_id, status, next_action_sort_at);
DROP INDEX idx_interactions_status_assignee;
