-- Run once by the postgres image, on an empty data volume, as POSTGRES_USER.
-- One database per module, plus the ones every process shares: API keys and
-- webhooks.
CREATE DATABASE catalogue;
CREATE DATABASE inventory;
CREATE DATABASE payment;
CREATE DATABASE auth;
CREATE DATABASE webhooks;
