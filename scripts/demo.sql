-- Demo data: a small sales team, their accounts and a few follow-ups in every state.
-- Idempotent (fixed ids, ON CONFLICT DO NOTHING), so the start script can run it every time.

INSERT INTO users (id, email, full_name) VALUES
    (1, 'camille.martin@relance.test', 'Camille Martin'),
    (2, 'hugo.bernard@relance.test', 'Hugo Bernard'),
    (3, 'lea.petit@relance.test', 'Léa Petit')
ON CONFLICT DO NOTHING;

INSERT INTO organisations (id, name) VALUES
    (1, 'Boulangeries Dupain'),
    (2, 'Atelier Lumière'),
    (3, 'Transports Rapides SA')
ON CONFLICT DO NOTHING;

INSERT INTO people (id, first_name, last_name, email, organisation_id, owner_id) VALUES
    (1, 'Sophie', 'Durand', 'sophie.durand@dupain.test', 1, 1),
    (2, 'Marc', 'Lefèvre', 'marc.lefevre@lumiere.test', 2, 1),
    (3, 'Nadia', 'Benali', 'nadia.benali@rapides.test', 3, 2),
    (4, 'Thomas', 'Roux', 'thomas.roux@rapides.test', 3, 3)
ON CONFLICT DO NOTHING;

INSERT INTO crm_interactions
    (id, type, title, description, organisation_id, person_id, author_id, status, assignee_id, next_action_at)
VALUES
    (1, 'call', 'Rappeler Sophie pour le devis', 'Devis fours envoyé la semaine dernière', 1, 1, 1, 'todo', 1, now() - interval '1 day'),
    (2, 'meeting', 'Démo produit chez Atelier Lumière', NULL, 2, 2, 1, 'in_progress', 1, now() + interval '2 hours'),
    (3, 'email', 'Relance contrat cadre', 'Sans réponse depuis 10 jours', 3, 3, 2, 'todo', 2, now() + interval '3 days'),
    (4, 'note', 'Préparer la revue trimestrielle', NULL, 3, 4, 3, 'todo', NULL, NULL),
    (5, 'call', 'Appel de découverte', NULL, 2, 2, 2, 'done', 2, now() - interval '5 days')
ON CONFLICT DO NOTHING;

-- Already hot: the hot-lead loop (migration 0008) is disarmed for them.
INSERT INTO lead_scores (person_id, score, last_event_at, hot_armed) VALUES
    (1, 22, now() - interval '1 day', false),
    (3, 31, now() - interval '2 hours', false),
    (4, 16, now() - interval '3 days', false)
ON CONFLICT DO NOTHING;

-- Keep identities ahead of the fixed ids above.
SELECT setval(pg_get_serial_sequence('users', 'id'), GREATEST((SELECT max(id) FROM users), 1));
SELECT setval(pg_get_serial_sequence('organisations', 'id'), GREATEST((SELECT max(id) FROM organisations), 1));
SELECT setval(pg_get_serial_sequence('people', 'id'), GREATEST((SELECT max(id) FROM people), 1));
SELECT setval(pg_get_serial_sequence('crm_interactions', 'id'), GREATEST((SELECT max(id) FROM crm_interactions), 1));
