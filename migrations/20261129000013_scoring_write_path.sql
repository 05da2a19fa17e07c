-- Scoring's write path, each change measured (docs/benchmarks.md, issue 17).

-- Most updates of a send touch no indexed column (status, counters, timestamps). With room left
-- on each page they are HOT: no new entries in its three indexes. Before: 1.4 % of the
-- benchmark's send updates were HOT. Applies to pages written from now on.
ALTER TABLE email_sends SET (fillfactor = 70);

-- Event keys are appended in time order and looked up by key only; pruning old keys (a range
-- of processed_at) does not need a B-tree maintained on every insert: a BRIN index costs next
-- to nothing per insert and finds such a range as well.
DROP INDEX idx_processed_events_at;
CREATE INDEX idx_processed_events_at ON processed_events USING brin (processed_at);

-- Scoring asks, for each event of a batch, whether its send was erased. At a batch's size the
-- planner answers with one hashed pass over the erased sends — which, without this index, is a
-- sequential scan of every send (1.6 ms of a 5 ms statement at 8,000 sends, growing with the
-- table). Erased sends are few: this index holds only them.
CREATE INDEX idx_email_sends_erased ON email_sends (provider, external_id) WHERE erased_at IS NOT NULL;
