DROP TABLE dashboard_sign_in_throttle;
DROP TABLE dashboard_sessions;
DROP TABLE dashboard_sign_in_links;
DROP TABLE dashboard_users;
