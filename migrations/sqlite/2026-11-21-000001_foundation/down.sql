DROP TABLE ticket_types;
DROP TABLE events;
DROP TABLE password_reset_tokens;
DROP TABLE refresh_tokens;
DROP TABLE users;
