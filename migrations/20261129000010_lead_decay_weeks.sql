-- The weekly decay's arithmetic, written once: full idle weeks (7 × 24 h) since a lead's last
-- engagement, and the weeks already taken off since that engagement (decay_weeks counts from
-- decay_anchor; a new engagement moves last_event_at, so the count starts again).
CREATE FUNCTION lead_idle_weeks(last_event_at TIMESTAMPTZ, now TIMESTAMPTZ) RETURNS INT
    LANGUAGE sql IMMUTABLE STRICT
    RETURN floor(extract(epoch FROM (now - last_event_at)) / (7 * 24 * 3600))::int;

CREATE FUNCTION lead_decay_weeks_applied(decay_anchor TIMESTAMPTZ, last_event_at TIMESTAMPTZ,
                                         decay_weeks INT) RETURNS INT
    LANGUAGE sql IMMUTABLE
    RETURN CASE WHEN decay_anchor IS NOT DISTINCT FROM last_event_at THEN decay_weeks ELSE 0 END;
