-- Sign-in with the company's OpenID provider: a user is the one whose oidc_subject is the
-- token's `sub`; the first sign-in of a user found by verified email links that `sub` here.
ALTER TABLE users ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX uq_users_oidc_subject ON users (oidc_subject);
