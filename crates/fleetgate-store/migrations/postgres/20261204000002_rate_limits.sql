-- Rate limits and data scope of applications.
-- Each application has a daily limit (a sliding 24-hour window) and a burst limit
-- (requests per second), and the connected services of its subscription (a comma-separated
-- list of connected-fleet, tmts, ubi). The counters are shared by every node of the
-- platform: one row per application for the current second, and one row per application
-- and minute for the last 24 hours.

ALTER TABLE applications ADD COLUMN daily_limit BIGINT NOT NULL DEFAULT 100000;
ALTER TABLE applications ADD COLUMN burst_limit BIGINT NOT NULL DEFAULT 100;
ALTER TABLE applications ADD COLUMN services TEXT NOT NULL DEFAULT 'connected-fleet,tmts,ubi';

-- second: Unix seconds; count: requests admitted in that second.
CREATE TABLE rate_limit_seconds (
    client_id TEXT PRIMARY KEY,
    second    BIGINT NOT NULL,
    count     BIGINT NOT NULL
);

-- minute: Unix minutes; count: requests admitted in that minute.
CREATE TABLE rate_limit_minutes (
    client_id TEXT NOT NULL,
    minute    BIGINT NOT NULL,
    count     BIGINT NOT NULL,
    PRIMARY KEY (client_id, minute)
);
