-- Rate limits and data scope of applications.
-- Each application has a daily limit (a sliding 24-hour window) and a burst limit
-- (requests per second), and the connected services of its subscription (a comma-separated
-- list of connected-fleet, tmts, ubi). The requests of the last 24 hours are shared by
-- every node of the platform: one row per application and minute, to which each node adds
-- what it admitted about once a second.

ALTER TABLE applications ADD COLUMN daily_limit BIGINT NOT NULL DEFAULT 100000;
ALTER TABLE applications ADD COLUMN burst_limit BIGINT NOT NULL DEFAULT 100;
ALTER TABLE applications ADD COLUMN services TEXT NOT NULL DEFAULT 'connected-fleet,tmts,ubi';

-- minute: Unix minutes; count: requests admitted in that minute.
CREATE TABLE rate_limit_minutes (
    client_id TEXT NOT NULL,
    minute    BIGINT NOT NULL,
    count     BIGINT NOT NULL,
    PRIMARY KEY (client_id, minute)
);
