-- The inbox's `q` at a million interactions, exact totals included (issue 18). The trigram
-- indexes of migration 0015 find rows, but counting a word that tens of thousands of rows hold
-- means visiting each of them. This word index counts them from a btree alone.
--
-- An interaction's searchable text (its title and description, and its person's name and
-- email: what `q` matches) is folded with relance_fold and cut into tokens at every ASCII
-- character that is not a letter or a digit (any other character, accented or not, belongs to
-- a token). A `q` word without such a character lies inside one token whenever it lies inside
-- the text, so "the folded text contains the word" is exactly "one of its tokens contains the
-- word". Tokens longer than 64 characters are stored as 64-character pieces starting every 32
-- characters: every substring of at most 32 characters lies inside one piece. Words with a
-- separator, or longer than 32 characters, keep the trigram path of migration 0015.
--
-- search_lexicon holds every token once, trigram-indexed: a word becomes the list of tokens
-- that contain it, and interaction_search_words says which interactions hold each token, with
-- their status, so a count of open rows is an index-only scan. Triggers keep both in step with
-- interactions and people.

-- The tokens of a folded text, maybe repeated (callers keep each once). A plain SQL body,
-- neither STRICT nor DISTINCT, so PostgreSQL inlines it into the caller's query: 16 µs a row
-- instead of 110 µs for a function it must call row by row.
CREATE FUNCTION relance_search_tokens(folded text) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT substr(token, start, 64)
    FROM regexp_split_to_table(folded, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+') AS token,
         generate_series(1, greatest(length(token) - 32, 1), 32) AS start
    WHERE token <> ''
$$;

CREATE TABLE search_lexicon (
    word TEXT PRIMARY KEY
);
CREATE INDEX idx_search_lexicon_trgm ON search_lexicon USING gin (word gin_trgm_ops);

CREATE TABLE interaction_search_words (
    word           TEXT NOT NULL,
    interaction_id BIGINT NOT NULL,
    status         interaction_status NOT NULL,
    PRIMARY KEY (word, interaction_id) INCLUDE (status)
);
CREATE INDEX idx_interaction_search_words_interaction ON interaction_search_words (interaction_id);
-- The default inbox counts open rows: their own index halves what a count of a word reads.
CREATE INDEX idx_interaction_search_words_open ON interaction_search_words (word, interaction_id)
    WHERE status <> 'done';

-- Rewrites the words of these interactions from their current text, person and status. The
-- lexicon only grows here (ON CONFLICT DO NOTHING takes no lock that writers could queue on).
-- Without JIT: the inlined tokenizer's row estimates (a thousand per text) make a
-- few-row statement look worth compiling, and compiling cost 170 ms a batch.
CREATE FUNCTION interaction_search_words_refresh(ids BIGINT[]) RETURNS void
    LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    DELETE FROM interaction_search_words WHERE interaction_id = ANY(ids);
    WITH words AS (
        SELECT DISTINCT t.word, i.id, i.status
        FROM crm_interactions i
        LEFT JOIN people p ON p.id = i.person_id
        CROSS JOIN LATERAL relance_search_tokens(
            relance_interaction_text(i.title, i.description) || ' '
            || coalesce(relance_person_text(p.first_name, p.last_name, p.email), '')) AS t(word)
        WHERE i.id = ANY(ids)
    ), lexicon AS (
        INSERT INTO search_lexicon (word)
        SELECT DISTINCT word FROM words ORDER BY 1
        ON CONFLICT DO NOTHING
    )
    INSERT INTO interaction_search_words (word, interaction_id, status)
    SELECT word, id, status FROM words;
END $$;

CREATE FUNCTION interaction_search_words_after_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM interaction_search_words_refresh(ARRAY(SELECT id FROM new_rows));
    RETURN NULL;
END $$;

-- A new text or person rewrites the words; a new status only moves them.
CREATE FUNCTION interaction_search_words_after_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM interaction_search_words_refresh(ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.title, n.description, n.person_id) IS DISTINCT FROM (o.title, o.description, o.person_id)));
    UPDATE interaction_search_words w SET status = n.status
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE w.interaction_id = n.id AND n.status <> o.status AND w.status <> n.status;
    RETURN NULL;
END $$;

CREATE FUNCTION interaction_search_words_after_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM interaction_search_words w USING old_rows o WHERE w.interaction_id = o.id;
    RETURN NULL;
END $$;

CREATE FUNCTION interaction_search_words_after_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE interaction_search_words, search_lexicon;
    RETURN NULL;
END $$;

-- A person's new name or address is in the words of every interaction about them.
CREATE FUNCTION interaction_search_words_after_person_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM interaction_search_words_refresh(ARRAY(
        SELECT i.id FROM crm_interactions i
        WHERE i.person_id IN (
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE (n.first_name, n.last_name, n.email)
                  IS DISTINCT FROM (o.first_name, o.last_name, o.email))));
    RETURN NULL;
END $$;

CREATE TRIGGER interaction_search_words_insert AFTER INSERT ON crm_interactions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION interaction_search_words_after_insert();
CREATE TRIGGER interaction_search_words_update AFTER UPDATE ON crm_interactions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION interaction_search_words_after_update();
CREATE TRIGGER interaction_search_words_delete AFTER DELETE ON crm_interactions
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION interaction_search_words_after_delete();
CREATE TRIGGER interaction_search_words_truncate AFTER TRUNCATE ON crm_interactions
    FOR EACH STATEMENT EXECUTE FUNCTION interaction_search_words_after_truncate();
CREATE TRIGGER interaction_search_words_person_update AFTER UPDATE ON people
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION interaction_search_words_after_person_update();

-- Tokens nothing holds any more go: at once for an erased person's (their name must not stay,
-- see erase.rs), and for the rest (a renamed person's old name, an edited title's old words) at
-- the inbox's periodic sweep. Writers add tokens without locking, so the lexicon is locked
-- against them first (SHARE ROW EXCLUSIVE waits for every writer in flight and holds new ones
-- until commit); a token a writer that committed in the meantime holds is then seen by the
-- DELETE's own snapshot and stays. Only erasures and sweeps that find something pay for this.
CREATE FUNCTION search_lexicon_forget(words TEXT[]) RETURNS BIGINT
    LANGUAGE plpgsql AS $$
DECLARE
    forgotten BIGINT;
BEGIN
    IF cardinality(words) = 0 THEN
        RETURN 0;
    END IF;
    LOCK TABLE search_lexicon IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM search_lexicon l
    WHERE l.word = ANY(words)
      AND NOT EXISTS (SELECT 1 FROM interaction_search_words w WHERE w.word = l.word);
    GET DIAGNOSTICS forgotten = ROW_COUNT;
    RETURN forgotten;
END $$;

-- Every token nothing holds; the candidates are found without the lock.
CREATE FUNCTION search_lexicon_sweep() RETURNS BIGINT
    LANGUAGE sql AS $$
    SELECT search_lexicon_forget(ARRAY(
        SELECT l.word FROM search_lexicon l
        WHERE NOT EXISTS (SELECT 1 FROM interaction_search_words w WHERE w.word = l.word)));
$$;

-- The rows already there.
SELECT interaction_search_words_refresh(ARRAY(SELECT id FROM crm_interactions));
