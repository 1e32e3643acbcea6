DROP TABLE IF EXISTS auth.security_events;
DROP TABLE IF EXISTS auth.reset_tokens;
DROP TABLE IF EXISTS auth.refresh_tokens;
DROP TABLE IF EXISTS auth.sessions;
DROP TABLE IF EXISTS auth.passwords;
