-- Data lifecycle (issue 31): the reminder deletes read notifications and sent emails past their
-- horizon in small batches (services/reminder/src/retention.rs); these partial indexes let each
-- batch find its oldest rows without reading the rest. processed_events has its BRIN index.
CREATE INDEX idx_notifications_read ON notifications (read_at) WHERE read_at IS NOT NULL;
CREATE INDEX idx_email_outbox_sent ON email_outbox (sent_at) WHERE status = 'sent';
