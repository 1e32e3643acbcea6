UPDATE notify.deliveries SET status = 'failed', error = 'skipped: email turned off' WHERE status = 'skipped';
ALTER TABLE notify.deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE notify.deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN ('sending', 'sent', 'failed'));
DROP TABLE IF EXISTS notify.secrets;
DROP TABLE IF EXISTS notify.preferences;
DROP TABLE IF EXISTS notify.inbox_seq;
DROP TABLE IF EXISTS notify.notifications;
