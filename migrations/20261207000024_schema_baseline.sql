-- The schema as of 2026-12-07: the first 23 migrations (20261124000001 to 20261207000023, in
-- git's history) squashed into one, so the schema reads in one file. docs/schema.sql is its
-- pg_dump (equal to the one of the 23, checked when squashing) and docs/architecture.md says
-- why each table that is not a plain record exists. A database that ran the 23 is adopted by
-- relance-migrate without running this (shared/src/db.rs, `adopt_squashed_history`).
-- SQL functions name tables created further down, as pg_dump's output does.
SET LOCAL check_function_bodies = false;

CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;

CREATE TYPE public.email_kind AS ENUM ('overdue', 'digest');

CREATE TYPE public.email_outbox_status AS ENUM ('pending', 'sent', 'failed', 'skipped');

CREATE TYPE public.email_status AS ENUM ('sent', 'delivered', 'opened', 'clicked', 'bounced');

CREATE TYPE public.interaction_status AS ENUM ('todo', 'in_progress', 'done');

CREATE TYPE public.interaction_type AS ENUM ('call', 'email', 'meeting', 'note');

CREATE TYPE public.notify_email_mode AS ENUM ('off', 'instant', 'daily');

CREATE TYPE public.task_status AS ENUM ('todo', 'in_progress', 'done');

CREATE FUNCTION public.inbox_counts_after_delete() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    WITH grouped AS (
        SELECT COALESCE(assignee_id, 0) AS assignee_id, type, status,
               inbox_day(next_action_at) AS day, -count(*) AS n
        FROM old_rows GROUP BY 1, 2, 3, 4
    ), by_assignee AS (
        INSERT INTO inbox_assignee_count_deltas (assignee_id, status, day, delta)
        SELECT assignee_id, status, day, sum(n) FROM grouped GROUP BY 1, 2, 3
    )
    INSERT INTO inbox_count_deltas (type, status, day, delta)
    SELECT type, status, day, sum(n) FROM grouped GROUP BY 1, 2, 3;
    RETURN NULL;
END $$;

CREATE FUNCTION public.inbox_counts_after_insert() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    WITH grouped AS (
        SELECT COALESCE(assignee_id, 0) AS assignee_id, type, status,
               inbox_day(next_action_at) AS day, count(*) AS n
        FROM new_rows GROUP BY 1, 2, 3, 4
    ), by_assignee AS (
        INSERT INTO inbox_assignee_count_deltas (assignee_id, status, day, delta)
        SELECT assignee_id, status, day, sum(n) FROM grouped GROUP BY 1, 2, 3
    )
    INSERT INTO inbox_count_deltas (type, status, day, delta)
    SELECT type, status, day, sum(n) FROM grouped GROUP BY 1, 2, 3;
    RETURN NULL;
END $$;

CREATE FUNCTION public.inbox_counts_after_truncate() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    DELETE FROM inbox_counts;
    DELETE FROM inbox_type_counts;
    DELETE FROM inbox_count_deltas;
    DELETE FROM inbox_assignee_counts;
    DELETE FROM inbox_assignee_count_deltas;
    RETURN NULL;
END $$;

CREATE FUNCTION public.inbox_counts_after_update() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    WITH grouped AS (
        SELECT assignee_id, type, status, day, sum(d) AS n FROM (
            SELECT COALESCE(assignee_id, 0) AS assignee_id, type, status,
                   inbox_day(next_action_at) AS day, -1 AS d
            FROM old_rows
            UNION ALL
            SELECT COALESCE(assignee_id, 0), type, status, inbox_day(next_action_at), 1
            FROM new_rows
        ) moves GROUP BY 1, 2, 3, 4 HAVING sum(d) <> 0
    ), by_assignee AS (
        INSERT INTO inbox_assignee_count_deltas (assignee_id, status, day, delta)
        SELECT assignee_id, status, day, sum(n) FROM grouped GROUP BY 1, 2, 3 HAVING sum(n) <> 0
    )
    INSERT INTO inbox_count_deltas (type, status, day, delta)
    SELECT type, status, day, sum(n) FROM grouped GROUP BY 1, 2, 3 HAVING sum(n) <> 0;
    RETURN NULL;
END $$;

CREATE FUNCTION public.inbox_counts_compact() RETURNS bigint
    LANGUAGE sql
    AS $$
    WITH moved AS (
        DELETE FROM inbox_count_deltas RETURNING type, status, day, delta
    ), summed AS (
        SELECT type, status, day, sum(delta) AS n, count(*) AS folded
        FROM moved GROUP BY 1, 2, 3
    ), upserted AS (
        INSERT INTO inbox_counts AS c (status, day, n)
        SELECT status, day, sum(n) FROM summed GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (status, day) DO UPDATE SET n = c.n + excluded.n
        RETURNING 1
    ), upserted_by_type AS (
        INSERT INTO inbox_type_counts AS c (type, status, day, n)
        SELECT type, status, day, n FROM summed ORDER BY 1, 2, 3
        ON CONFLICT (type, status, day) DO UPDATE SET n = c.n + excluded.n
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

CREATE FUNCTION public.inbox_day(at timestamp with time zone) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN (at IS NULL) THEN 'infinity'::date ELSE ((at AT TIME ZONE 'UTC'::text))::date END;

CREATE FUNCTION public.interaction_changes_capture() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO interaction_changes (interaction_id, change)
    SELECT id, TG_ARGV[0] FROM changed_rows ORDER BY id;
    IF FOUND THEN
        -- Wakes the relay at commit (notifications are delivered only if the transaction
        -- commits, and folded into one per transaction).
        PERFORM pg_notify('interaction_changes', '');
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION public.interaction_search_words_after_person_update() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM interaction_search_words_refresh(ARRAY(
        SELECT i.id FROM crm_interactions i
        WHERE i.person_id IN (
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE (n.first_name, n.last_name, n.email)
                  IS DISTINCT FROM (o.first_name, o.last_name, o.email))));
    RETURN NULL;
END $$;

CREATE FUNCTION public.interaction_search_words_after_truncate() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    TRUNCATE interaction_search_words, search_lexicon;
    RETURN NULL;
END $$;

CREATE FUNCTION public.interaction_search_words_refresh(ids bigint[]) RETURNS void
    LANGUAGE plpgsql
    SET jit TO 'off'
    AS $$
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

CREATE FUNCTION public.lead_decay_weeks_applied(decay_anchor timestamp with time zone, last_event_at timestamp with time zone, decay_weeks integer) RETURNS integer
    LANGUAGE sql IMMUTABLE
    RETURN CASE WHEN (NOT (decay_anchor IS DISTINCT FROM last_event_at)) THEN decay_weeks ELSE 0 END;

CREATE FUNCTION public.lead_idle_weeks(last_event_at timestamp with time zone, now timestamp with time zone) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT
    RETURN (floor((EXTRACT(epoch FROM (now - last_event_at)) / (((7 * 24) * 3600))::numeric)))::integer;

CREATE FUNCTION public.relance_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN lower(public.unaccent('public.unaccent'::regdictionary, $1));

CREATE FUNCTION public.relance_interaction_text(title text, description text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN public.relance_fold(((title || ' '::text) || COALESCE(description, ''::text)));

CREATE FUNCTION public.relance_person_text(first_name text, last_name text, email text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN public.relance_fold(((((first_name || ' '::text) || last_name) || ' '::text) || COALESCE(email, ''::text)));

CREATE FUNCTION public.relance_search_tokens(folded text) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT substr(token, start, 64)
    FROM regexp_split_to_table(folded, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+') AS token,
         generate_series(1, greatest(length(token) - 32, 1), 32) AS start
    WHERE token <> ''
$$;

CREATE FUNCTION public.search_lexicon_forget(words text[]) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
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

CREATE FUNCTION public.search_lexicon_sweep() RETURNS bigint
    LANGUAGE sql
    AS $$
    SELECT search_lexicon_forget(ARRAY(
        SELECT l.word FROM search_lexicon l
        WHERE NOT EXISTS (SELECT 1 FROM interaction_search_words w WHERE w.word = l.word)));
$$;

CREATE TABLE public.crm_interactions (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    type public.interaction_type NOT NULL,
    title text NOT NULL,
    description text,
    organisation_id bigint,
    person_id bigint,
    author_id bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    status public.interaction_status DEFAULT 'todo'::public.interaction_status NOT NULL,
    assignee_id bigint,
    next_action_at timestamp with time zone,
    notified_at timestamp with time zone,
    linked_task_id bigint,
    linked_event_id bigint,
    next_action_sort_at timestamp with time zone GENERATED ALWAYS AS (COALESCE(next_action_at, 'infinity'::timestamp with time zone)) STORED,
    CONSTRAINT crm_interactions_pkey PRIMARY KEY (id)
);

CREATE TABLE public.directory_tombstones (
    kind text NOT NULL,
    external_id text NOT NULL,
    crm_updated_at timestamp with time zone NOT NULL,
    CONSTRAINT directory_tombstones_kind_check CHECK ((kind = ANY (ARRAY['users'::text, 'organisations'::text, 'people'::text]))),
    CONSTRAINT directory_tombstones_pkey PRIMARY KEY (kind, external_id)
);

CREATE TABLE public.email_outbox (
    id bigint GENERATED ALWAYS AS IDENTITY,
    user_id bigint NOT NULL,
    kind public.email_kind NOT NULL,
    notification_id bigint,
    digest_date date,
    status public.email_outbox_status DEFAULT 'pending'::public.email_outbox_status NOT NULL,
    created_at timestamp with time zone NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone NOT NULL,
    sent_at timestamp with time zone,
    last_error text,
    CONSTRAINT ck_email_outbox_digest CHECK (((kind = 'digest'::public.email_kind) = (digest_date IS NOT NULL))),
    CONSTRAINT ck_email_outbox_overdue CHECK (((kind = 'overdue'::public.email_kind) = (notification_id IS NOT NULL))),
    CONSTRAINT email_outbox_pkey PRIMARY KEY (id),
    CONSTRAINT uq_email_outbox_digest UNIQUE (user_id, digest_date),
    CONSTRAINT uq_email_outbox_notification UNIQUE (notification_id)
);

CREATE TABLE public.email_sends (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    organisation_id bigint,
    person_id bigint,
    provider character varying(50) NOT NULL,
    external_id character varying(255) NOT NULL,
    subject character varying(500),
    recipient character varying(320),
    status public.email_status DEFAULT 'sent'::public.email_status NOT NULL,
    sent_at timestamp with time zone,
    delivered_at timestamp with time zone,
    open_count integer DEFAULT 0 NOT NULL,
    click_count integer DEFAULT 0 NOT NULL,
    machine_open_count integer DEFAULT 0 NOT NULL,
    first_open_at timestamp with time zone,
    last_open_at timestamp with time zone,
    last_click_at timestamp with time zone,
    bounced_at timestamp with time zone,
    complained_at timestamp with time zone,
    unsubscribed_at timestamp with time zone,
    interaction_id bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone,
    erased_at timestamp with time zone,
    CONSTRAINT email_sends_click_count_check CHECK ((click_count >= 0)),
    CONSTRAINT email_sends_machine_open_count_check CHECK ((machine_open_count >= 0)),
    CONSTRAINT email_sends_open_count_check CHECK ((open_count >= 0)),
    CONSTRAINT email_sends_pkey PRIMARY KEY (id),
    CONSTRAINT uq_provider_external_id UNIQUE (provider, external_id)
)
WITH (fillfactor='70');

CREATE TABLE public.erased_addresses (
    email_sha256 bytea NOT NULL,
    erased_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT erased_addresses_pkey PRIMARY KEY (email_sha256)
);

CREATE TABLE public.inbox_assignee_count_deltas (
    id bigint GENERATED ALWAYS AS IDENTITY,
    assignee_id bigint NOT NULL,
    status public.interaction_status NOT NULL,
    day date NOT NULL,
    delta bigint NOT NULL,
    CONSTRAINT inbox_assignee_count_deltas_pkey PRIMARY KEY (id)
);

CREATE TABLE public.inbox_assignee_counts (
    assignee_id bigint NOT NULL,
    status public.interaction_status NOT NULL,
    day date NOT NULL,
    n bigint NOT NULL,
    CONSTRAINT inbox_assignee_counts_pkey PRIMARY KEY (assignee_id, status, day)
);

CREATE TABLE public.inbox_count_deltas (
    id bigint GENERATED ALWAYS AS IDENTITY,
    status public.interaction_status NOT NULL,
    day date NOT NULL,
    delta bigint NOT NULL,
    type public.interaction_type NOT NULL,
    CONSTRAINT inbox_count_deltas_pkey PRIMARY KEY (id)
);

CREATE TABLE public.inbox_counts (
    status public.interaction_status NOT NULL,
    day date NOT NULL,
    n bigint NOT NULL,
    CONSTRAINT inbox_counts_pkey PRIMARY KEY (status, day)
);

CREATE TABLE public.organisations (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    external_id text,
    crm_updated_at timestamp with time zone,
    CONSTRAINT organisations_pkey PRIMARY KEY (id)
);

CREATE TABLE public.people (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    first_name text DEFAULT ''::text NOT NULL,
    last_name text DEFAULT ''::text NOT NULL,
    email text,
    phone text,
    organisation_id bigint,
    owner_id bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    external_id text,
    crm_updated_at timestamp with time zone,
    organisation_external_id text,
    owner_external_id text,
    CONSTRAINT people_pkey PRIMARY KEY (id)
);

CREATE TABLE public.users (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    email text NOT NULL,
    full_name text NOT NULL,
    is_active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    external_id text,
    crm_updated_at timestamp with time zone,
    oidc_subject text,
    notify_email public.notify_email_mode DEFAULT 'instant'::public.notify_email_mode NOT NULL,
    timezone text,
    digest_hour smallint DEFAULT 8 NOT NULL,
    CONSTRAINT users_digest_hour_check CHECK (((digest_hour >= 0) AND (digest_hour <= 23))),
    CONSTRAINT users_pkey PRIMARY KEY (id)
);

CREATE VIEW public.inbox_interactions AS
 SELECT i.id,
    i.type,
    i.title,
    i.description,
    i.status,
    i.assignee_id,
    u.full_name AS assignee_name,
    i.next_action_at,
    i.next_action_sort_at,
    i.notified_at,
    i.person_id,
    NULLIF(btrim(((p.first_name || ' '::text) || p.last_name)), ''::text) AS person_name,
    i.organisation_id,
    o.name AS organisation_name,
    i.author_id,
    i.linked_task_id,
    i.linked_event_id,
    i.created_at,
    i.updated_at
   FROM (((public.crm_interactions i
     LEFT JOIN public.users u ON ((u.id = i.assignee_id)))
     LEFT JOIN public.people p ON ((p.id = i.person_id)))
     LEFT JOIN public.organisations o ON ((o.id = i.organisation_id)));

CREATE TABLE public.inbox_type_counts (
    type public.interaction_type NOT NULL,
    status public.interaction_status NOT NULL,
    day date NOT NULL,
    n bigint NOT NULL,
    CONSTRAINT inbox_type_counts_pkey PRIMARY KEY (type, status, day)
);

CREATE TABLE public.interaction_changes (
    id bigint GENERATED ALWAYS AS IDENTITY,
    interaction_id bigint NOT NULL,
    change text NOT NULL,
    changed_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT interaction_changes_pkey PRIMARY KEY (id)
);

CREATE TABLE public.interaction_search_words (
    word text NOT NULL,
    interaction_id bigint NOT NULL,
    status public.interaction_status NOT NULL,
    next_action_sort_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT interaction_search_words_pkey PRIMARY KEY (word, interaction_id) INCLUDE (status)
);

CREATE TABLE public.lead_score_history (
    id bigint GENERATED ALWAYS AS IDENTITY,
    person_id bigint NOT NULL,
    delta integer NOT NULL,
    score_after integer NOT NULL,
    reason text NOT NULL,
    event_key text,
    email_send_id bigint,
    occurred_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT lead_score_history_score_after_check CHECK ((score_after >= 0)),
    CONSTRAINT lead_score_history_pkey PRIMARY KEY (id)
);

CREATE TABLE public.lead_scores (
    person_id bigint NOT NULL,
    score integer DEFAULT 0 NOT NULL,
    last_event_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone,
    decay_anchor timestamp with time zone,
    decay_weeks integer DEFAULT 0 NOT NULL,
    hot_armed boolean DEFAULT true NOT NULL,
    CONSTRAINT lead_scores_decay_weeks_check CHECK ((decay_weeks >= 0)),
    CONSTRAINT lead_scores_score_check CHECK ((score >= 0)),
    CONSTRAINT lead_scores_pkey PRIMARY KEY (person_id)
);

CREATE TABLE public.notifications (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    user_id bigint NOT NULL,
    kind text NOT NULL,
    interaction_id bigint,
    title text NOT NULL,
    due_at timestamp with time zone,
    payload jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    read_at timestamp with time zone,
    published_at timestamp with time zone,
    CONSTRAINT notifications_pkey PRIMARY KEY (id),
    CONSTRAINT uq_notifications_interaction_due UNIQUE (interaction_id, kind, due_at)
);

CREATE TABLE public.processed_events (
    event_key text NOT NULL,
    provider text NOT NULL,
    processed_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT processed_events_pkey PRIMARY KEY (event_key)
);

CREATE TABLE public.search_lexicon (
    word text NOT NULL,
    CONSTRAINT search_lexicon_pkey PRIMARY KEY (word)
);

CREATE TABLE public.tasks (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    title text NOT NULL,
    description text,
    status public.task_status DEFAULT 'todo'::public.task_status NOT NULL,
    due_at timestamp with time zone,
    assignee_id bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT tasks_pkey PRIMARY KEY (id)
);

CREATE INDEX idx_email_outbox_pending ON public.email_outbox USING btree (next_attempt_at, id) WHERE (status = 'pending'::public.email_outbox_status);

CREATE INDEX idx_email_sends_erased ON public.email_sends USING btree (provider, external_id) WHERE (erased_at IS NOT NULL);

CREATE INDEX idx_email_sends_person ON public.email_sends USING btree (person_id);

CREATE INDEX idx_inbox_assignee_count_deltas ON public.inbox_assignee_count_deltas USING btree (assignee_id);

CREATE INDEX idx_interaction_search_words_inbox_open ON public.interaction_search_words USING btree (word, next_action_sort_at, created_at DESC, interaction_id DESC) WHERE (status <> 'done'::public.interaction_status);

CREATE INDEX idx_interaction_search_words_interaction ON public.interaction_search_words USING btree (interaction_id);

CREATE INDEX idx_interaction_search_words_open ON public.interaction_search_words USING btree (word, interaction_id) WHERE (status <> 'done'::public.interaction_status);

CREATE INDEX idx_interactions_inbox_assignee_open ON public.crm_interactions USING btree (assignee_id, next_action_sort_at, created_at DESC, id DESC) WHERE (status <> 'done'::public.interaction_status);

CREATE INDEX idx_interactions_inbox_assignee_status ON public.crm_interactions USING btree (assignee_id, status, next_action_sort_at);

CREATE INDEX idx_interactions_inbox_assignee_type_open ON public.crm_interactions USING btree (assignee_id, type, next_action_sort_at, created_at DESC, id DESC) WHERE (status <> 'done'::public.interaction_status);

CREATE INDEX idx_interactions_inbox_open ON public.crm_interactions USING btree (next_action_sort_at, created_at DESC, id DESC) WHERE (status <> 'done'::public.interaction_status);

CREATE INDEX idx_interactions_inbox_type_open ON public.crm_interactions USING btree (type, next_action_sort_at, created_at DESC, id DESC) WHERE (status <> 'done'::public.interaction_status);

CREATE INDEX idx_interactions_next_action_status ON public.crm_interactions USING btree (next_action_at, status) WHERE (next_action_at IS NOT NULL);

CREATE INDEX idx_interactions_organisation ON public.crm_interactions USING btree (organisation_id);

CREATE INDEX idx_interactions_person ON public.crm_interactions USING btree (person_id);

CREATE INDEX idx_interactions_reminder_due ON public.crm_interactions USING btree (next_action_at, id) WHERE ((notified_at IS NULL) AND (status <> 'done'::public.interaction_status) AND (assignee_id IS NOT NULL) AND (next_action_at IS NOT NULL));

CREATE INDEX idx_interactions_search ON public.crm_interactions USING gin (public.relance_interaction_text(title, description) public.gin_trgm_ops);

CREATE INDEX idx_lead_score_history_person ON public.lead_score_history USING btree (person_id, id);

CREATE INDEX idx_lead_scores_score ON public.lead_scores USING btree (score DESC);

CREATE INDEX idx_notifications_unpublished ON public.notifications USING btree (id) WHERE (published_at IS NULL);

CREATE INDEX idx_notifications_user ON public.notifications USING btree (user_id, read_at, created_at DESC);

CREATE INDEX idx_people_by_name ON public.people USING btree (public.relance_fold(((last_name || ' '::text) || first_name)), id);

CREATE INDEX idx_people_organisation ON public.people USING btree (organisation_id);

CREATE INDEX idx_people_organisation_external_id ON public.people USING btree (organisation_external_id) WHERE (organisation_external_id IS NOT NULL);

CREATE INDEX idx_people_owner_external_id ON public.people USING btree (owner_external_id) WHERE (owner_external_id IS NOT NULL);

CREATE INDEX idx_people_search ON public.people USING gin (public.relance_person_text(first_name, last_name, email) public.gin_trgm_ops);

CREATE INDEX idx_processed_events_at ON public.processed_events USING brin (processed_at);

CREATE INDEX idx_search_lexicon_trgm ON public.search_lexicon USING gin (word public.gin_trgm_ops);

CREATE UNIQUE INDEX uq_organisations_external_id ON public.organisations USING btree (external_id);

CREATE UNIQUE INDEX uq_people_email ON public.people USING btree (lower(email)) WHERE (email IS NOT NULL);

CREATE UNIQUE INDEX uq_people_external_id ON public.people USING btree (external_id);

CREATE UNIQUE INDEX uq_users_email ON public.users USING btree (lower(email));

CREATE UNIQUE INDEX uq_users_external_id ON public.users USING btree (external_id);

CREATE UNIQUE INDEX uq_users_oidc_subject ON public.users USING btree (oidc_subject);

CREATE TRIGGER inbox_counts_delete AFTER DELETE ON public.crm_interactions REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.inbox_counts_after_delete();

CREATE TRIGGER inbox_counts_insert AFTER INSERT ON public.crm_interactions REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.inbox_counts_after_insert();

CREATE TRIGGER inbox_counts_truncate AFTER TRUNCATE ON public.crm_interactions FOR EACH STATEMENT EXECUTE FUNCTION public.inbox_counts_after_truncate();

CREATE TRIGGER inbox_counts_update AFTER UPDATE ON public.crm_interactions REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.inbox_counts_after_update();

CREATE TRIGGER interaction_changes_delete AFTER DELETE ON public.crm_interactions REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION public.interaction_changes_capture('deleted');

CREATE TRIGGER interaction_changes_insert AFTER INSERT ON public.crm_interactions REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION public.interaction_changes_capture('created');

CREATE TRIGGER interaction_changes_update AFTER UPDATE ON public.crm_interactions REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION public.interaction_changes_capture('updated');

CREATE TRIGGER interaction_search_words_person_update AFTER UPDATE ON public.people REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.interaction_search_words_after_person_update();

CREATE TRIGGER interaction_search_words_truncate AFTER TRUNCATE ON public.crm_interactions FOR EACH STATEMENT EXECUTE FUNCTION public.interaction_search_words_after_truncate();

ALTER TABLE public.crm_interactions ADD CONSTRAINT crm_interactions_assignee_id_fkey FOREIGN KEY (assignee_id) REFERENCES public.users(id) ON DELETE SET NULL;
ALTER TABLE public.crm_interactions ADD CONSTRAINT crm_interactions_author_id_fkey FOREIGN KEY (author_id) REFERENCES public.users(id) ON DELETE SET NULL;
ALTER TABLE public.crm_interactions ADD CONSTRAINT crm_interactions_linked_task_id_fkey FOREIGN KEY (linked_task_id) REFERENCES public.tasks(id) ON DELETE SET NULL;
ALTER TABLE public.crm_interactions ADD CONSTRAINT crm_interactions_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES public.organisations(id) ON DELETE SET NULL;
ALTER TABLE public.crm_interactions ADD CONSTRAINT crm_interactions_person_id_fkey FOREIGN KEY (person_id) REFERENCES public.people(id) ON DELETE SET NULL;
ALTER TABLE public.email_outbox ADD CONSTRAINT email_outbox_notification_id_fkey FOREIGN KEY (notification_id) REFERENCES public.notifications(id) ON DELETE CASCADE;
ALTER TABLE public.email_outbox ADD CONSTRAINT email_outbox_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;
ALTER TABLE public.email_sends ADD CONSTRAINT email_sends_interaction_id_fkey FOREIGN KEY (interaction_id) REFERENCES public.crm_interactions(id) ON DELETE SET NULL;
ALTER TABLE public.email_sends ADD CONSTRAINT email_sends_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES public.organisations(id) ON DELETE SET NULL;
ALTER TABLE public.email_sends ADD CONSTRAINT email_sends_person_id_fkey FOREIGN KEY (person_id) REFERENCES public.people(id) ON DELETE SET NULL;
ALTER TABLE public.lead_score_history ADD CONSTRAINT lead_score_history_email_send_id_fkey FOREIGN KEY (email_send_id) REFERENCES public.email_sends(id) ON DELETE SET NULL;
ALTER TABLE public.lead_score_history ADD CONSTRAINT lead_score_history_person_id_fkey FOREIGN KEY (person_id) REFERENCES public.people(id) ON DELETE CASCADE;
ALTER TABLE public.lead_scores ADD CONSTRAINT lead_scores_person_id_fkey FOREIGN KEY (person_id) REFERENCES public.people(id) ON DELETE CASCADE;
ALTER TABLE public.notifications ADD CONSTRAINT notifications_interaction_id_fkey FOREIGN KEY (interaction_id) REFERENCES public.crm_interactions(id) ON DELETE CASCADE;
ALTER TABLE public.notifications ADD CONSTRAINT notifications_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;
ALTER TABLE public.people ADD CONSTRAINT people_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES public.organisations(id) ON DELETE SET NULL;
ALTER TABLE public.people ADD CONSTRAINT people_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES public.users(id) ON DELETE SET NULL;
ALTER TABLE public.tasks ADD CONSTRAINT tasks_assignee_id_fkey FOREIGN KEY (assignee_id) REFERENCES public.users(id) ON DELETE SET NULL;
