DROP TABLE IF EXISTS users.email_tokens;
DROP TABLE IF EXISTS users.profiles;
DROP TABLE IF EXISTS users.accounts;
