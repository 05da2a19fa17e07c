-- The search index leaves the writers' transactions (issue 29).
--
-- 1. Search totals are exact up to `inbox.exact_total_limit` (10,000) and a lower bound beyond,
--    so a total never has to count more than that many rows: the bitmaps and their journal
--    (migration 0021), which existed only to count tens of thousands of rows fast, go.
-- 2. The word index (migrations 0018 and 0019) is no longer written by triggers on
--    crm_interactions: every writer of an interaction (scoring above all) paid for tokenizing
--    its text and writing a dozen index rows in its own transaction. The change relay, which
--    already reads every change PostgreSQL captures (interaction_changes, migration 0008),
--    refreshes the words of the interactions it relays, after their commit
--    (search::index::refresh_changed). The index lags the table by the relay's delay (tens of
--    milliseconds; docs/architecture.md, "The search index").
--
-- Every refresh (the relay's, a person's rename, an erasure's) takes one advisory lock for the
-- rest of its transaction, so two never interleave: the later one reads what the earlier one
-- committed, and the index ends as the tables are.

DROP TRIGGER search_bitmap_changes_insert ON interaction_search_words;
DROP TRIGGER search_bitmap_changes_delete ON interaction_search_words;
DROP TRIGGER search_bitmap_changes_update ON interaction_search_words;
DROP TRIGGER search_bitmaps_truncate ON interaction_search_words;
DROP TRIGGER search_bitmaps_lexicon_delete ON search_lexicon;
DROP FUNCTION search_bitmap_changes_after_words_insert();
DROP FUNCTION search_bitmap_changes_after_words_delete();
DROP FUNCTION search_bitmap_changes_after_words_update();
DROP FUNCTION search_bitmaps_after_words_truncate();
DROP FUNCTION search_bitmaps_after_lexicon_delete();
DROP FUNCTION search_bitmaps_refresh(INT);
DROP FUNCTION search_bitmaps_rebuild(INT);
DROP FUNCTION search_bitmaps_check_transaction();
DROP TABLE search_bitmap_changes, search_word_bitmaps, search_bitmap_words;
DROP FUNCTION search_chunk_bit(BIGINT);
DROP FUNCTION search_chunk(BIGINT);

DROP TRIGGER interaction_search_words_insert ON crm_interactions;
DROP TRIGGER interaction_search_words_update ON crm_interactions;
DROP TRIGGER interaction_search_words_delete ON crm_interactions;
DROP FUNCTION interaction_search_words_after_insert();
DROP FUNCTION interaction_search_words_after_update();
DROP FUNCTION interaction_search_words_after_delete();

-- Rewrites the words of these interactions (gone ones: none) from their current text, person,
-- status and sort key. The advisory lock ("search" in ASCII) orders it after any other
-- refresh in flight; every statement after it reads what that one committed.
CREATE OR REPLACE FUNCTION interaction_search_words_refresh(ids BIGINT[]) RETURNS void
    LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    IF cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(x'736561726368'::bigint);
    DELETE FROM interaction_search_words WHERE interaction_id = ANY(ids);
    WITH words AS (
        SELECT DISTINCT t.word, i.id, i.status, i.next_action_sort_at, i.created_at
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
    INSERT INTO interaction_search_words (word, interaction_id, status, next_action_sort_at, created_at)
    SELECT word, id, status, next_action_sort_at, created_at FROM words;
END $$;
