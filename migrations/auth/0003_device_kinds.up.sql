-- Phone apps name their platform: ios and android join web, mobile, tv and other.
ALTER TABLE auth.sessions DROP CONSTRAINT IF EXISTS sessions_device_kind_check;
ALTER TABLE auth.sessions ADD CONSTRAINT sessions_device_kind_check
    CHECK (device_kind IN ('web', 'ios', 'android', 'mobile', 'tv', 'other'));
