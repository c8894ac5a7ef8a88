DROP TABLE email_providers;
