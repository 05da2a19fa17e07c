-- The web app's person picker and people search (GET /api/v1/people) list people by name,
-- accents and case folded, a keyset page at a time: this index walks that order.
CREATE INDEX idx_people_by_name ON people (relance_fold(last_name || ' ' || first_name), id);
