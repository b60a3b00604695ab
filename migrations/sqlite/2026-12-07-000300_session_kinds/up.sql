-- What a staff session is for: 'api' sessions hold bearer tokens and refresh at
-- /v1/auth/refresh; 'browser' sessions are the console's cookie and are never exchanged
-- for API tokens (nor an API refresh token taken for a cookie). Sessions opened before this
-- column existed were the API's; a console sign-in from then simply has to sign in again.
-- Keep this file column-for-column equal to the other backend's.
ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'api' CHECK (kind IN ('api', 'browser'));
