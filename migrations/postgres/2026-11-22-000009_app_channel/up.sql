-- Applicants sign in from the mini-program or the mobile app; WeChat's unionid is the same
-- person on both, so it joins them into one applicant.
ALTER TABLE applicants ADD COLUMN wechat_unionid TEXT;
ALTER TABLE applicants ADD COLUMN app_openid TEXT;
CREATE UNIQUE INDEX applicants_unionid ON applicants (wechat_unionid);
CREATE UNIQUE INDEX applicants_app_openid ON applicants (app_openid);
