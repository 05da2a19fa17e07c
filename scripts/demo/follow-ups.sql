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

-- The emails behind those scores, and the score changes they made (the person page's chart
-- and history): each history folds from 0 to the score above. Only when the person has no
-- history yet, so a rerun adds nothing.
INSERT INTO email_sends (person_id, organisation_id, provider, external_id, subject, recipient, status,
                         sent_at, delivered_at, open_count, click_count, first_open_at, last_open_at, last_click_at)
SELECT p.id, p.organisation_id, 'resend', v.external_id, v.subject, p.email, v.status::email_status,
       now() - v.sent_ago, now() - v.sent_ago + interval '1 minute', v.opens, v.clicks,
       now() - v.sent_ago + interval '2 hours', now() - v.sent_ago + interval '1 day',
       CASE WHEN v.clicks > 0 THEN now() - v.sent_ago + interval '1 day' END
FROM (VALUES
    ('crm-p-3', 'demo-send-1', 'Votre devis flotte 2027', 'clicked', interval '20 days', 2, 2),
    ('crm-p-3', 'demo-send-2', 'Invitation : démonstration en ligne', 'clicked', interval '6 days', 3, 3),
    ('crm-p-1', 'demo-send-3', 'Devis fours professionnels', 'clicked', interval '25 days', 2, 2),
    ('crm-p-1', 'demo-send-4', 'Relance : votre devis', 'clicked', interval '12 days', 1, 1),
    ('crm-p-4', 'demo-send-5', 'Revue trimestrielle', 'clicked', interval '9 days', 2, 3)
) AS v(person, external_id, subject, status, sent_ago, opens, clicks)
JOIN people p ON p.external_id = v.person
ON CONFLICT (provider, external_id) DO NOTHING;

INSERT INTO lead_score_history (person_id, delta, score_after, reason, email_send_id, occurred_at)
SELECT p.id, v.delta, v.after, v.reason, s.id, now() - v.ago
FROM (VALUES
    ('crm-p-3', 'demo-send-1', 3, 3, 'first_open', interval '19 days 20 hours'),
    ('crm-p-3', 'demo-send-1', 8, 11, 'first_click', interval '19 days'),
    ('crm-p-3', 'demo-send-1', 1, 12, 'later_open', interval '18 days'),
    ('crm-p-3', 'demo-send-1', 2, 14, 'later_click', interval '17 days'),
    ('crm-p-3', 'demo-send-2', 3, 17, 'first_open', interval '5 days 20 hours'),
    ('crm-p-3', 'demo-send-2', 8, 25, 'first_click', interval '5 days 19 hours'),
    ('crm-p-3', 'demo-send-2', 2, 27, 'later_click', interval '4 days'),
    ('crm-p-3', 'demo-send-2', 2, 29, 'later_click', interval '2 days'),
    ('crm-p-3', 'demo-send-2', 1, 30, 'later_open', interval '1 day'),
    ('crm-p-3', 'demo-send-2', 1, 31, 'later_open', interval '2 hours'),
    ('crm-p-1', 'demo-send-3', 3, 3, 'first_open', interval '24 days'),
    ('crm-p-1', 'demo-send-3', 8, 11, 'first_click', interval '23 days'),
    ('crm-p-1', 'demo-send-3', 1, 12, 'later_open', interval '22 days'),
    ('crm-p-1', 'demo-send-3', 2, 14, 'later_click', interval '21 days'),
    ('crm-p-1', 'demo-send-4', 3, 17, 'first_open', interval '11 days'),
    ('crm-p-1', 'demo-send-4', 8, 25, 'first_click', interval '10 days'),
    ('crm-p-1', NULL, -3, 22, 'decay', interval '1 day'),
    ('crm-p-4', 'demo-send-5', 3, 3, 'first_open', interval '8 days'),
    ('crm-p-4', 'demo-send-5', 8, 11, 'first_click', interval '7 days 20 hours'),
    ('crm-p-4', 'demo-send-5', 1, 12, 'later_open', interval '6 days'),
    ('crm-p-4', 'demo-send-5', 2, 14, 'later_click', interval '5 days'),
    ('crm-p-4', 'demo-send-5', 2, 16, 'later_click', interval '3 days')
) AS v(person, send, delta, after, reason, ago)
JOIN people p ON p.external_id = v.person
LEFT JOIN email_sends s ON s.provider = 'resend' AND s.external_id = v.send
WHERE NOT EXISTS (SELECT 1 FROM lead_score_history h WHERE h.person_id = p.id)
ORDER BY p.id, v.after, v.ago DESC;

-- Keep identities ahead of the fixed ids above.
SELECT setval(pg_get_serial_sequence('crm_interactions', 'id'), GREATEST((SELECT max(id) FROM crm_interactions), 1));
