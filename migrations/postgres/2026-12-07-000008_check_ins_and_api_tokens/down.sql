DROP TABLE api_tokens;
DROP TABLE check_ins;
