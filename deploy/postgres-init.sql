-- Run once by the postgres image, on an empty data volume, as POSTGRES_USER.
-- One database per module, plus one for the API keys that every process shares.
CREATE DATABASE catalogue;
CREATE DATABASE inventory;
CREATE DATABASE payment;
CREATE DATABASE auth;
