-- Exact inbox totals for everyone without counting hundreds of thousands of rows per request.
-- Interactions are counted per (status, UTC day of next_action_at; 'infinity' when none).
-- Writers never contend: statement triggers append signed deltas to inbox_count_deltas, and
-- inbox_counts_compact() (run by the inbox every few seconds) folds them into inbox_counts.
-- A count reads both tables, so it is exact at any moment, compacted or not. Per-assignee
-- totals do not use this: their index ranges are small.

CREATE FUNCTION inbox_day(at TIMESTAMPTZ) RETURNS DATE
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN at IS NULL THEN 'infinity'::date ELSE (at AT TIME ZONE 'UTC')::date END;

CREATE TABLE inbox_counts (
    status  interaction_status NOT NULL,
    day     DATE NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (status, day)
);

CREATE TABLE inbox_count_deltas (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    status  interaction_status NOT NULL,
    day     DATE NOT NULL,
    delta   BIGINT NOT NULL
);

CREATE FUNCTION inbox_counts_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO inbox_count_deltas (status, day, delta)
    SELECT status, inbox_day(next_action_at), count(*) FROM new_rows GROUP BY 1, 2;
    RETURN NULL;
END $$;

CREATE FUNCTION inbox_counts_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO inbox_count_deltas (status, day, delta)
    SELECT status, inbox_day(next_action_at), -count(*) FROM old_rows GROUP BY 1, 2;
    RETURN NULL;
END $$;

-- Most updates (notified_at, titles) move nothing: the HAVING drops their zero deltas.
CREATE FUNCTION inbox_counts_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO inbox_count_deltas (status, day, delta)
    SELECT status, day, sum(d) FROM (
        SELECT status, inbox_day(next_action_at) AS day, -1 AS d FROM old_rows
        UNION ALL
        SELECT status, inbox_day(next_action_at), 1 FROM new_rows
    ) moves GROUP BY 1, 2 HAVING sum(d) <> 0;
    RETURN NULL;
END $$;

CREATE FUNCTION inbox_counts_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM inbox_counts;
    DELETE FROM inbox_count_deltas;
    RETURN NULL;
END $$;

CREATE TRIGGER inbox_counts_insert AFTER INSERT ON crm_interactions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION inbox_counts_after_insert();
CREATE TRIGGER inbox_counts_delete AFTER DELETE ON crm_interactions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION inbox_counts_after_delete();
CREATE TRIGGER inbox_counts_update AFTER UPDATE ON crm_interactions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_counts_after_update();
CREATE TRIGGER inbox_counts_truncate AFTER TRUNCATE ON crm_interactions
    FOR EACH STATEMENT EXECUTE FUNCTION inbox_counts_after_truncate();

-- Folds the pending deltas into inbox_counts; returns how many it folded. Safe to run from
-- several replicas at once: a delta row is deleted (and so folded) exactly once.
CREATE FUNCTION inbox_counts_compact() RETURNS BIGINT LANGUAGE sql AS $$
    WITH moved AS (
        DELETE FROM inbox_count_deltas RETURNING status, day, delta
    ), summed AS (
        SELECT status, day, sum(delta) AS n, count(*) AS folded FROM moved GROUP BY 1, 2
    ), upserted AS (
        INSERT INTO inbox_counts AS c (status, day, n)
        SELECT status, day, n FROM summed ORDER BY status, day
        ON CONFLICT (status, day) DO UPDATE SET n = c.n + excluded.n
        RETURNING 1
    )
    SELECT COALESCE(sum(folded), 0)::bigint FROM summed;
$$;

-- The partial days at a window's ends are counted row by row: (next_action_at, status) makes
-- that an index-only scan. It also serves what idx_interactions_next_action did.
CREATE INDEX idx_interactions_next_action_status ON crm_interactions (next_action_at, status)
    WHERE next_action_at IS NOT NULL;
DROP INDEX idx_interactions_next_action;

INSERT INTO inbox_counts (status, day, n)
SELECT status, inbox_day(next_action_at), count(*) FROM crm_interactions GROUP BY 1, 2;
