-- Demo follow-ups, on top of the demo directory (scripts/demo/*.json, which the CRM's path —
-- PUT /api/v1/directory/* — loads first): a few interactions in every state and three people
-- already hot. CRM records are found by their CRM ids. Idempotent (fixed interaction ids,
-- ON CONFLICT DO NOTHING), so the start script can run it every time.

WITH u AS (SELECT external_id, id FROM users WHERE external_id LIKE 'crm-u-%'),
     o AS (SELECT external_id, id FROM organisations WHERE external_id LIKE 'crm-o-%'),
     p AS (SELECT external_id, id FROM people WHERE external_id LIKE 'crm-p-%')
INSERT INTO crm_interactions
    (id, type, title, description, organisation_id, person_id, author_id, status, assignee_id, next_action_at)
SELECT v.id, v.type::interaction_type, v.title, v.description,
       (SELECT id FROM o WHERE external_id = v.org), (SELECT id FROM p WHERE external_id = v.person),
       (SELECT id FROM u WHERE external_id = v.author), v.status::interaction_status,
       (SELECT id FROM u WHERE external_id = v.assignee), v.next_action_at
FROM (VALUES
    (1, 'call', 'Rappeler Sophie pour le devis', 'Devis fours envoyé la semaine dernière', 'crm-o-1', 'crm-p-1', 'crm-u-1', 'todo', 'crm-u-1', now() - interval '1 day'),
    (2, 'meeting', 'Démo produit chez Atelier Lumière', NULL, 'crm-o-2', 'crm-p-2', 'crm-u-1', 'in_progress', 'crm-u-1', now() + interval '2 hours'),
    (3, 'email', 'Relance contrat cadre', 'Sans réponse depuis 10 jours', 'crm-o-3', 'crm-p-3', 'crm-u-2', 'todo', 'crm-u-2', now() + interval '3 days'),
    (4, 'note', 'Préparer la revue trimestrielle', NULL, 'crm-o-3', 'crm-p-4', 'crm-u-3', 'todo', NULL, NULL),
    (5, 'call', 'Appel de découverte', NULL, 'crm-o-2', 'crm-p-2', 'crm-u-2', 'done', 'crm-u-2', now() - interval '5 days')
) AS v(id, type, title, description, org, person, author, status, assignee, next_action_at)
ON CONFLICT DO NOTHING;

-- Already hot: the hot-lead loop (migration 0008) is disarmed for them.
INSERT INTO lead_scores (person_id, score, last_event_at, hot_armed)
SELECT p.id, v.score, now() - v.ago, false
FROM (VALUES ('crm-p-1', 22, interval '1 day'), ('crm-p-3', 31, interval '2 hours'),
             ('crm-p-4', 16, interval '3 days')) AS v(person, score, ago)
JOIN people p ON p.external_id = v.person
ON CONFLICT DO NOTHING;

-- Keep identities ahead of the fixed ids above.
SELECT setval(pg_get_serial_sequence('crm_interactions', 'id'), GREATEST((SELECT max(id) FROM crm_interactions), 1));
