-- The CRM is the system of record for users, organisations and people; it feeds Relance their
-- versions (PUT /api/v1/directory/*, or NATS crm.directory.*). Each record carries the CRM's id
-- (external_id, unique when set) and the CRM's updated_at of the version applied: an older
-- version changes nothing (last writer wins by the CRM's clock), so any order and any
-- repetition of the same versions ends in the same state.
ALTER TABLE users ADD COLUMN external_id TEXT, ADD COLUMN crm_updated_at TIMESTAMPTZ;
CREATE UNIQUE INDEX uq_users_external_id ON users (external_id);

ALTER TABLE organisations ADD COLUMN external_id TEXT, ADD COLUMN crm_updated_at TIMESTAMPTZ;
CREATE UNIQUE INDEX uq_organisations_external_id ON organisations (external_id);

-- A person may arrive before its organisation or owner: the CRM's references are kept, and
-- resolved to ids when the referenced record arrives (and on every version of the person).
ALTER TABLE people
    ADD COLUMN external_id TEXT,
    ADD COLUMN crm_updated_at TIMESTAMPTZ,
    ADD COLUMN organisation_external_id TEXT,
    ADD COLUMN owner_external_id TEXT;
CREATE UNIQUE INDEX uq_people_external_id ON people (external_id);
CREATE INDEX idx_people_organisation_external_id ON people (organisation_external_id)
    WHERE organisation_external_id IS NOT NULL;
CREATE INDEX idx_people_owner_external_id ON people (owner_external_id)
    WHERE owner_external_id IS NOT NULL;

-- The CRM's deletions, so that an older version arriving after a delete does not bring the
-- record back. The CRM's id and clock only: nothing that names anyone.
CREATE TABLE directory_tombstones (
    kind            TEXT NOT NULL CHECK (kind IN ('users', 'organisations', 'people')),
    external_id     TEXT NOT NULL,
    crm_updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, external_id)
);

-- Erasure (GDPR art. 17): the addresses of erased people, as SHA-256 of the lower-cased
-- address, so later events for them identify nobody and create nothing without the address
-- itself being kept. A send of an erased person keeps its counters, loses its recipient and
-- link, and takes no more events.
CREATE TABLE erased_addresses (
    email_sha256  BYTEA PRIMARY KEY,
    erased_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE email_sends ADD COLUMN erased_at TIMESTAMPTZ;
