-- Run once by the postgres image, on an empty data volume, as POSTGRES_USER.
-- One database per module (webhooks is one), plus the gateway's API keys.
CREATE DATABASE catalogue;
CREATE DATABASE inventory;
CREATE DATABASE payment;
CREATE DATABASE auth;
CREATE DATABASE webhooks;
