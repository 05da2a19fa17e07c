-- Exact totals for common words from bitmaps (issue 18). Counting the open rows holding two
-- common words merges their entries in the word index: 41,139 and 75,038 of them at 1,000,000
-- interactions, 10 ms of one core that no index makes shorter. Here each common token keeps,
-- per chunk of 1,024 consecutive interaction ids, a bitmap of the open interactions holding it:
-- 977 rows per token at 1,000,000 interactions, and a total is the bit count of the chunks'
-- AND (1.2 ms for the same two words).
--
-- Bitmaps are not written by the writers of interactions, which would make every new
-- interaction with a common word wait on the same few rows. Writers append the ids they change
-- to a journal (search_bitmap_changes, no key: appends never wait); the inbox folds the
-- journal into the bitmaps every two seconds (search_bitmaps_refresh) and rebuilds them every
-- ten minutes (search_bitmaps_rebuild, which also takes in tokens that became common). A total
-- is then exact whatever the journal holds: the bitmaps are right for every interaction not in
-- the journal, and the journal's interactions are masked out of them and counted from the
-- word index (inbox_query::push_bitmap_count).
--
-- Both functions must run in a REPEATABLE READ transaction that locked search_bitmap_words in
-- SHARE UPDATE EXCLUSIVE mode before its first query (LOCK TABLE takes no snapshot): one
-- snapshot for what they read, delete and write, so a journal entry committed after it stays
-- for the next pass; and one of them at a time across replicas (the mode conflicts with
-- itself, not with writers or readers). An erasure's forgetting of tokens takes the same lock.
-- Before it, the pass takes interaction_search_words (ACCESS SHARE, which no writer waits for):
-- a TRUNCATE of the interactions takes that table before the bitmaps' tables, so both take
-- their locks in the same order. inbox_query::{refresh,rebuild}_search_bitmaps do all this.

-- Interactions by chunks of 1,024 ids; an id's bit within its chunk.
CREATE FUNCTION search_chunk(id BIGINT) RETURNS INT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (id >> 10)::int;
CREATE FUNCTION search_chunk_bit(id BIGINT) RETURNS BIT(1024)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN set_bit(B'0'::bit(1024), (id & 1023)::int, 1);

-- The tokens that keep bitmaps: those held by many open interactions at a rebuild, and how
-- many (as of the last rebuild: it only says which word of a search is the rarer).
CREATE TABLE search_bitmap_words (
    word      TEXT PRIMARY KEY,
    open_rows BIGINT NOT NULL
);
CREATE TABLE search_word_bitmaps (
    word  TEXT NOT NULL,
    chunk INT NOT NULL,
    bits  BIT(1024) NOT NULL,
    PRIMARY KEY (word, chunk)
);
CREATE INDEX idx_search_word_bitmaps_chunk ON search_word_bitmaps (chunk);
-- Interactions whose words or status changed since the bitmaps last took them in; repeats
-- allowed.
CREATE TABLE search_bitmap_changes (
    interaction_id BIGINT NOT NULL
);

CREATE FUNCTION search_bitmaps_check_transaction() RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'repeatable read' THEN
        RAISE EXCEPTION 'search bitmaps are folded in a REPEATABLE READ transaction (migration 0021)';
    END IF;
END $$;

-- Folds up to `batch` journaled interactions into the bitmaps; returns how many.
CREATE FUNCTION search_bitmaps_refresh(batch INT) RETURNS BIGINT
    LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    ids BIGINT[];
BEGIN
    PERFORM search_bitmaps_check_transaction();
    ids := ARRAY(SELECT DISTINCT interaction_id FROM search_bitmap_changes ORDER BY 1 LIMIT batch);
    IF cardinality(ids) = 0 THEN
        RETURN 0;
    END IF;
    -- Their bits cleared, then set again where an open row holds the token now.
    WITH masks AS (
        SELECT search_chunk(id) AS chunk, bit_or(search_chunk_bit(id)) AS bits
        FROM unnest(ids) AS id GROUP BY 1
    )
    UPDATE search_word_bitmaps b SET bits = b.bits & ~m.bits
    FROM masks m
    WHERE b.chunk = m.chunk AND bit_count(b.bits & m.bits) > 0;
    INSERT INTO search_word_bitmaps AS b (word, chunk, bits)
    SELECT w.word, search_chunk(w.interaction_id), bit_or(search_chunk_bit(w.interaction_id))
    FROM interaction_search_words w
    JOIN search_bitmap_words bw ON bw.word = w.word
    WHERE w.interaction_id = ANY(ids) AND w.status <> 'done'
    GROUP BY 1, 2
    ON CONFLICT (word, chunk) DO UPDATE SET bits = b.bits | EXCLUDED.bits;
    -- Only the entries this snapshot sees: one committed since stays for the next pass.
    DELETE FROM search_bitmap_changes WHERE interaction_id = ANY(ids);
    RETURN cardinality(ids);
END $$;

-- Takes in the tokens at least `min_rows` open interactions hold, rebuilds every bitmap and
-- empties the journal (as this snapshot sees it); returns how many tokens keep bitmaps.
CREATE FUNCTION search_bitmaps_rebuild(min_rows INT) RETURNS BIGINT
    LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    PERFORM search_bitmaps_check_transaction();
    INSERT INTO search_bitmap_words AS b (word, open_rows)
    SELECT word, count(*) FROM interaction_search_words
    WHERE status <> 'done'
    GROUP BY word
    HAVING count(*) >= min_rows OR word IN (SELECT word FROM search_bitmap_words)
    ON CONFLICT (word) DO UPDATE SET open_rows = EXCLUDED.open_rows;
    DELETE FROM search_word_bitmaps;
    INSERT INTO search_word_bitmaps (word, chunk, bits)
    SELECT w.word, search_chunk(w.interaction_id), bit_or(search_chunk_bit(w.interaction_id))
    FROM interaction_search_words w
    JOIN search_bitmap_words bw ON bw.word = w.word
    WHERE w.status <> 'done'
    GROUP BY 1, 2
    ORDER BY 1, 2; -- a token's bitmaps on consecutive pages
    DELETE FROM search_bitmap_changes;
    RETURN (SELECT count(*) FROM search_bitmap_words);
END $$;

-- Whatever writes the word index journals the interactions whose open rows it changes: new
-- and removed rows (new, re-worded or deleted interactions, a renamed person's), and a move
-- between open and done (todo and in progress are both open; the sort key is not counted).
CREATE FUNCTION search_bitmap_changes_after_words_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_bitmap_changes (interaction_id) SELECT DISTINCT interaction_id FROM new_words;
    RETURN NULL;
END $$;

CREATE FUNCTION search_bitmap_changes_after_words_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_bitmap_changes (interaction_id) SELECT DISTINCT interaction_id FROM old_words;
    RETURN NULL;
END $$;

CREATE FUNCTION search_bitmap_changes_after_words_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_bitmap_changes (interaction_id)
    SELECT DISTINCT n.interaction_id
    FROM new_words n JOIN old_words o USING (word, interaction_id)
    WHERE (n.status = 'done') <> (o.status = 'done');
    RETURN NULL;
END $$;

CREATE FUNCTION search_bitmaps_after_words_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE search_word_bitmaps, search_bitmap_words, search_bitmap_changes;
    RETURN NULL;
END $$;

-- A token leaving the lexicon (nothing holds it) leaves the bitmaps: an erased person's name
-- must not stay (erase.rs).
CREATE FUNCTION search_bitmaps_after_lexicon_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    -- After any pass in progress, which may be rewriting these very rows.
    LOCK TABLE search_bitmap_words IN SHARE UPDATE EXCLUSIVE MODE;
    DELETE FROM search_word_bitmaps b USING gone g WHERE b.word = g.word;
    DELETE FROM search_bitmap_words b USING gone g WHERE b.word = g.word;
    RETURN NULL;
END $$;

CREATE TRIGGER search_bitmap_changes_insert AFTER INSERT ON interaction_search_words
    REFERENCING NEW TABLE AS new_words
    FOR EACH STATEMENT EXECUTE FUNCTION search_bitmap_changes_after_words_insert();
CREATE TRIGGER search_bitmap_changes_delete AFTER DELETE ON interaction_search_words
    REFERENCING OLD TABLE AS old_words
    FOR EACH STATEMENT EXECUTE FUNCTION search_bitmap_changes_after_words_delete();
CREATE TRIGGER search_bitmap_changes_update AFTER UPDATE ON interaction_search_words
    REFERENCING OLD TABLE AS old_words NEW TABLE AS new_words
    FOR EACH STATEMENT EXECUTE FUNCTION search_bitmap_changes_after_words_update();
CREATE TRIGGER search_bitmaps_truncate AFTER TRUNCATE ON interaction_search_words
    FOR EACH STATEMENT EXECUTE FUNCTION search_bitmaps_after_words_truncate();
CREATE TRIGGER search_bitmaps_lexicon_delete AFTER DELETE ON search_lexicon
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION search_bitmaps_after_lexicon_delete();
