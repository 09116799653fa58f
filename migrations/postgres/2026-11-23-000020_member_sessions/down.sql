DROP TABLE member_refresh_tokens;
