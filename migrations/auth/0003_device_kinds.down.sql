UPDATE auth.sessions SET device_kind = 'mobile' WHERE device_kind IN ('ios', 'android');
ALTER TABLE auth.sessions DROP CONSTRAINT IF EXISTS sessions_device_kind_check;
ALTER TABLE auth.sessions ADD CONSTRAINT sessions_device_kind_check
    CHECK (device_kind IN ('web', 'mobile', 'tv', 'other'));
