DROP INDEX applicants_app_openid;
DROP INDEX applicants_unionid;
ALTER TABLE applicants DROP COLUMN app_openid;
ALTER TABLE applicants DROP COLUMN wechat_unionid;
