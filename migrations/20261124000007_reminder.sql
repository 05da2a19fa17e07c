-- Reminders: the pending ones (due, not notified, open, assigned) in an index of their own, so
-- a pass finds them without walking every past next action.
CREATE INDEX idx_interactions_reminder_due ON crm_interactions (next_action_at, id)
    WHERE notified_at IS NULL AND status <> 'done' AND assignee_id IS NOT NULL
      AND next_action_at IS NOT NULL;

-- Weekly decay: how many idle weeks have been taken off since the engagement at decay_anchor.
-- When scoring moves last_event_at, the anchor no longer matches and the count starts over,
-- so a pass (or two replicas at once) never decays the same week twice.
ALTER TABLE lead_scores
    ADD COLUMN decay_anchor TIMESTAMPTZ,
    ADD COLUMN decay_weeks  INTEGER NOT NULL DEFAULT 0 CHECK (decay_weeks >= 0);
