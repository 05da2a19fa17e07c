-- An interaction as the inbox shows it: its columns and the names next to it (assignee,
-- person, organisation). Every read of "an interaction" selects from this view, so the joins
-- are written once, here, and queries checked at build time see its columns. The inbox's
-- ordering column (next_action_sort_at) is exposed so filters and keyset pages apply to it
-- directly; PostgreSQL inlines the view, so those predicates still use the base table's
-- indexes.
CREATE VIEW inbox_interactions AS
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
       NULLIF(btrim(p.first_name || ' ' || p.last_name), '') AS person_name,
       i.organisation_id,
       o.name AS organisation_name,
       i.author_id,
       i.linked_task_id,
       i.linked_event_id,
       i.created_at,
       i.updated_at
FROM crm_interactions i
LEFT JOIN users u ON u.id = i.assignee_id
LEFT JOIN people p ON p.id = i.person_id
LEFT JOIN organisations o ON o.id = i.organisation_id;
