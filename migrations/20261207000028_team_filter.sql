-- The inbox's team filter and the teams a caller may choose from (issue 30, "Mon équipe").
-- The teams a manager manages: those they belong to and their descendants (UNION: a cycle the
-- CRM sends ends instead of looping).
CREATE FUNCTION managed_teams(manager bigint) RETURNS TABLE (external_id text)
    LANGUAGE sql STABLE AS $$
    WITH RECURSIVE managed(external_id) AS (
        SELECT t.external_id FROM teams t
        JOIN users m ON t.external_id = ANY (m.team_external_ids)
        WHERE m.id = manager
        UNION
        SELECT child.external_id FROM teams child
        JOIN managed ON child.parent_external_id = managed.external_id
    )
    SELECT external_id FROM managed
$$;

CREATE OR REPLACE FUNCTION managed_users(manager bigint) RETURNS TABLE (user_id bigint)
    LANGUAGE sql STABLE AS $$
    SELECT u.id FROM users u
    WHERE u.team_external_ids && ARRAY(SELECT external_id FROM managed_teams(manager))
$$;

-- A team's members: of the team and of its descendants, deactivated ones included (their
-- items are still the team's work).
CREATE FUNCTION team_members(team text) RETURNS TABLE (user_id bigint)
    LANGUAGE sql STABLE AS $$
    WITH RECURSIVE tree(external_id) AS (
        SELECT team
        UNION
        SELECT child.external_id FROM teams child
        JOIN tree ON child.parent_external_id = tree.external_id
    )
    SELECT u.id FROM users u
    WHERE u.team_external_ids && ARRAY(SELECT external_id FROM tree)
$$;
