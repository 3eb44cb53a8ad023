-- PostgreSQL's version of ../0007_delivery_claims.sql: BIGINT where SQLite says INTEGER.
-- Several processes may each run a delivery worker (PostgreSQL): a worker claims
-- the due rows it takes by setting a lease, and the others skip them until the
-- lease runs out. A worker that crashed mid-send leaves its lease behind; once
-- it has passed, the row is due again. Cleared when the try ends.
ALTER TABLE deliveries ADD COLUMN claimed_until BIGINT;
