-- Per-assignee day counters, the same way as everyone's (migration 0006): a user's inbox total
-- and stats read their days instead of counting every open item of theirs in the index (4,064
-- entries per page for the busiest user of the benchmark, the largest share of PostgreSQL's
-- CPU per inbox request under load: docs/benchmarks.md, issue 17). `assignee_id` 0 stands for
-- unassigned (a primary key column cannot be NULL; ids start at 1).

CREATE TABLE inbox_assignee_counts (
    assignee_id  BIGINT NOT NULL,
    status       interaction_status NOT NULL,
    day          DATE NOT NULL,
    n            BIGINT NOT NULL,
    PRIMARY KEY (assignee_id, status, day)
);

CREATE TABLE inbox_assignee_count_deltas (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    assignee_id  BIGINT NOT NULL,
    status       interaction_status NOT NULL,
    day          DATE NOT NULL,
    delta        BIGINT NOT NULL
);
CREATE INDEX idx_inbox_assignee_count_deltas ON inbox_assignee_count_deltas (assignee_id);

-- No writer may change interactions between the triggers' switch and the backfill below.
LOCK TABLE crm_interactions IN SHARE ROW EXCLUSIVE MODE;

-- Each trigger groups the changed rows once, by (assignee, status, day), and derives
-- everyone's deltas from those groups: a statement of 500 reminder updates costs one grouping of
-- its rows, as before this migration, plus one of the few groups.
CREATE OR REPLACE FUNCTION inbox_counts_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH grouped AS (
        SELECT COALESCE(assignee_id, 0) AS assignee_id, status, inbox_day(next_action_at) AS day,
               count(*) AS n
        FROM new_rows GROUP BY 1, 2, 3
    ), by_assignee AS (
        INSERT INTO inbox_assignee_count_deltas (assignee_id, status, day, delta)
        SELECT assignee_id, status, day, n FROM grouped
    )
    INSERT INTO inbox_count_deltas (status, day, delta)
    SELECT status, day, sum(n) FROM grouped GROUP BY 1, 2;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION inbox_counts_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH grouped AS (
        SELECT COALESCE(assignee_id, 0) AS assignee_id, status, inbox_day(next_action_at) AS day,
               -count(*) AS n
        FROM old_rows GROUP BY 1, 2, 3
    ), by_assignee AS (
        INSERT INTO inbox_assignee_count_deltas (assignee_id, status, day, delta)
        SELECT assignee_id, status, day, n FROM grouped
    )
    INSERT INTO inbox_count_deltas (status, day, delta)
    SELECT status, day, sum(n) FROM grouped GROUP BY 1, 2;
    RETURN NULL;
END $$;

-- Most updates (notified_at, titles) move nothing: the HAVINGs drop their zero deltas.
CREATE OR REPLACE FUNCTION inbox_counts_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH grouped AS (
        SELECT assignee_id, status, day, sum(d) AS n FROM (
            SELECT COALESCE(assignee_id, 0) AS assignee_id, status,
                   inbox_day(next_action_at) AS day, -1 AS d
            FROM old_rows
            UNION ALL
            SELECT COALESCE(assignee_id, 0), status, inbox_day(next_action_at), 1 FROM new_rows
        ) moves GROUP BY 1, 2, 3 HAVING sum(d) <> 0
    ), by_assignee AS (
        INSERT INTO inbox_assignee_count_deltas (assignee_id, status, day, delta)
        SELECT assignee_id, status, day, n FROM grouped
    )
    INSERT INTO inbox_count_deltas (status, day, delta)
    SELECT status, day, sum(n) FROM grouped GROUP BY 1, 2 HAVING sum(n) <> 0;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION inbox_counts_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM inbox_counts;
    DELETE FROM inbox_count_deltas;
    DELETE FROM inbox_assignee_counts;
    DELETE FROM inbox_assignee_count_deltas;
    RETURN NULL;
END $$;

-- Folds both tables' pending deltas; returns how many it folded. Safe to run from several
-- replicas at once: a delta row is deleted (and so folded) exactly once.
CREATE OR REPLACE FUNCTION inbox_counts_compact() RETURNS BIGINT LANGUAGE sql AS $$
    WITH moved AS (
        DELETE FROM inbox_count_deltas RETURNING status, day, delta
    ), summed AS (
        SELECT status, day, sum(delta) AS n, count(*) AS folded FROM moved GROUP BY 1, 2
    ), upserted AS (
        INSERT INTO inbox_counts AS c (status, day, n)
        SELECT status, day, n FROM summed ORDER BY status, day
        ON CONFLICT (status, day) DO UPDATE SET n = c.n + excluded.n
        RETURNING 1
    ), moved_by_assignee AS (
        DELETE FROM inbox_assignee_count_deltas RETURNING assignee_id, status, day, delta
    ), summed_by_assignee AS (
        SELECT assignee_id, status, day, sum(delta) AS n, count(*) AS folded
        FROM moved_by_assignee GROUP BY 1, 2, 3
    ), upserted_by_assignee AS (
        INSERT INTO inbox_assignee_counts AS c (assignee_id, status, day, n)
        SELECT assignee_id, status, day, n FROM summed_by_assignee
        ORDER BY assignee_id, status, day
        ON CONFLICT (assignee_id, status, day) DO UPDATE SET n = c.n + excluded.n
        RETURNING 1
    )
    SELECT COALESCE((SELECT sum(folded) FROM summed), 0)::bigint
         + COALESCE((SELECT sum(folded) FROM summed_by_assignee), 0)::bigint;
$$;

INSERT INTO inbox_assignee_counts (assignee_id, status, day, n)
SELECT COALESCE(assignee_id, 0), status, inbox_day(next_action_at), count(*)
FROM crm_interactions GROUP BY 1, 2, 3;
