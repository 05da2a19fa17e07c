-- Speed to lead (issue 32, design "Speed to lead"): who is available, how a team shares its new
-- hot leads, and the first-touch SLA of each hot-lead interaction.

-- Availability, in the user's own zone (`users.timezone`, else the inbox's default): an away
-- user gets no new assignment, and the SLA counts only working minutes
-- (shared/src/working_time.rs).
ALTER TABLE users
    ADD COLUMN away_until timestamptz,
    ADD COLUMN work_days smallint[] NOT NULL DEFAULT '{1,2,3,4,5}',
    ADD COLUMN work_start time NOT NULL DEFAULT '09:00',
    ADD COLUMN work_end time NOT NULL DEFAULT '18:00',
    ADD CONSTRAINT users_work_hours_check CHECK (work_start < work_end),
    ADD CONSTRAINT users_work_days_check
        CHECK (cardinality(work_days) > 0 AND work_days <@ '{1,2,3,4,5,6,7}'::smallint[]);

CREATE TYPE assignment_mode AS ENUM ('round_robin', 'least_loaded');

-- How a team shares the hot leads nobody owns (or whose owner is away): its mode, and the
-- round robin's cursor, the member given the last one. The assigning transaction locks the row
-- (services/scoring/src/apply/assign.rs), so two scoring replicas or concurrent batches take
-- turns on it and no member gets a second before every available one has had one. Keyed by the
-- team's external id, as memberships are: a pool may be set before the CRM sends its team.
CREATE TABLE team_pools (
    team_external_id text PRIMARY KEY,
    mode assignment_mode NOT NULL DEFAULT 'round_robin',
    last_user_id bigint,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The first-touch SLA of a hot-lead interaction: due after `sla.hot_lead_minutes` of its
-- assignee's working time; touched by the assignee's first change; breached once.
ALTER TABLE crm_interactions
    ADD COLUMN sla_due_at timestamptz,
    ADD COLUMN first_touched_at timestamptz,
    ADD COLUMN sla_breached_at timestamptz,
    ADD COLUMN sla_warned_at timestamptz;
-- The SLA pass reads only the interactions still waiting for their first touch.
CREATE INDEX idx_interactions_sla_waiting ON crm_interactions (sla_due_at)
    WHERE sla_due_at IS NOT NULL AND first_touched_at IS NULL;

-- The inbox shows a hot lead's deadline, first touch and breach (cards count down).
CREATE OR REPLACE VIEW inbox_interactions AS
 SELECT i.id,
    i.type,
    i.title,
    i.description,
    i.status,
    i.assignee_id,
    u.full_name AS assignee_name,
    i.next_action_at,
    i.next_action_sort_at,
    i.notified_at,
    i.person_id,
    NULLIF(btrim(((p.first_name || ' '::text) || p.last_name)), ''::text) AS person_name,
    i.organisation_id,
    o.name AS organisation_name,
    i.author_id,
    i.linked_task_id,
    i.linked_event_id,
    i.created_at,
    i.updated_at,
    i.sla_due_at,
    i.first_touched_at,
    i.sla_breached_at
   FROM (((crm_interactions i
     LEFT JOIN users u ON ((u.id = i.assignee_id)))
     LEFT JOIN people p ON ((p.id = i.person_id)))
     LEFT JOIN organisations o ON ((o.id = i.organisation_id)));
