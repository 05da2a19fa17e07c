-- The seed's advanced filters: free-text search over an interaction's title and description
-- and its person's name and email, case- and accent-insensitive (`lefevre` finds `Lefèvre`).
-- Both extensions ship with PostgreSQL and are trusted, so the database owner may create them.
CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

-- unaccent() is only STABLE (its dictionary could change), so it cannot appear in an index.
-- This wrapper names the dictionary and schema explicitly, which makes it safe to declare
-- IMMUTABLE: the one folding both the indexes and the queries use.
CREATE FUNCTION relance_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN lower(public.unaccent('public.unaccent'::regdictionary, $1));

-- What `q` is matched against, written once: the inbox query calls these very expressions so
-- the trigram indexes below serve it.
CREATE FUNCTION relance_interaction_text(title text, description text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN relance_fold(title || ' ' || coalesce(description, ''));
CREATE FUNCTION relance_person_text(first_name text, last_name text, email text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN relance_fold(first_name || ' ' || last_name || ' ' || coalesce(email, ''));

CREATE INDEX idx_interactions_search ON crm_interactions
    USING gin (relance_interaction_text(title, description) gin_trgm_ops);
CREATE INDEX idx_people_search ON people
    USING gin (relance_person_text(first_name, last_name, email) gin_trgm_ops);

-- The type filter on the default (open) inbox walks the same order as the inbox.
CREATE INDEX idx_interactions_inbox_type_open
    ON crm_interactions (type, next_action_sort_at, created_at DESC, id DESC)
    WHERE status <> 'done';
