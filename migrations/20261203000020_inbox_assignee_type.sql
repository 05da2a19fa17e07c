-- "My calls" (issue 18): an assignee's open interactions of one type, in inbox order. Without
-- it PostgreSQL combines the assignee's open rows with every open row of the type (a bitmap
-- AND of 9,214 and 112,942 rows for the benchmark's busiest user), then visits the table for
-- each: 17.9 ms to count the busiest user's calls holding a common word. With it, the
-- assignee's calls are one range of this index, walked in order for a page and read without
-- the table for a count.
CREATE INDEX idx_interactions_inbox_assignee_type_open
    ON crm_interactions (assignee_id, type, next_action_sort_at, created_at DESC, id DESC)
    WHERE status <> 'done';
