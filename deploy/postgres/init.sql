-- History store (orders, trades, journal) lands with its own issue; the database and a schema
-- namespace exist so operators can point tools at it already.
CREATE SCHEMA IF NOT EXISTS history;
