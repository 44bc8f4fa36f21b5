-- Vehicle data: the raw messages vehicles send, each vehicle's current state, and the
-- records derived from the messages (trips, alerts, alarms, collisions, stolen periods).
-- Times are Unix milliseconds (BIGINT). Each record's full JSON is in `data`; the other
-- columns exist only to filter, sort and prune. There is no foreign key on `vin`: a vehicle
-- may send data before (or without) being listed in `vehicles`.

-- One row per message received, de-duplicated by the vehicle's own message id.
CREATE TABLE vehicle_messages (
    vin         TEXT NOT NULL,
    id          TEXT NOT NULL,
    channel     TEXT NOT NULL,
    at          BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    payload     TEXT NOT NULL,
    PRIMARY KEY (vin, id)
);
-- Listings per vehicle and channel in time order (telemetry, waypoints).
CREATE INDEX vehicle_messages_listing ON vehicle_messages(vin, channel, at, id);
-- Retention.
CREATE INDEX vehicle_messages_at ON vehicle_messages(at);

-- The current picture of each vehicle, as the JSON of fleetgate-core's VehicleState.
CREATE TABLE vehicle_states (
    vin                   TEXT PRIMARY KEY,
    state                 TEXT NOT NULL,
    last_at               BIGINT,
    open_trip_last_sample BIGINT,
    updated_at            BIGINT NOT NULL
);
-- The vehicles with a trip under way, by the time of its last sample (silent trips).
CREATE INDEX vehicle_states_open_trip ON vehicle_states(open_trip_last_sample)
    WHERE open_trip_last_sample IS NOT NULL;

-- state: the spec's TripStateEnum value of the trip (its first fault, or Nominal; all its
-- faults are in data); distance in km; duration in seconds, NULL while under way.
CREATE TABLE trips (
    id             TEXT PRIMARY KEY,
    vin            TEXT NOT NULL,
    started_at     BIGINT NOT NULL,
    stopped_at     BIGINT,
    last_sample_at BIGINT NOT NULL,
    state          TEXT NOT NULL,
    done           INTEGER NOT NULL,
    distance       REAL NOT NULL,
    duration       BIGINT,
    data           TEXT NOT NULL
);
CREATE INDEX trips_vin ON trips(vin, started_at, id);
CREATE INDEX trips_stopped ON trips(stopped_at);

CREATE TABLE alerts (
    id         TEXT PRIMARY KEY,
    vin        TEXT NOT NULL,
    kind       TEXT NOT NULL,
    severity   TEXT NOT NULL,
    active     INTEGER NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at   BIGINT,
    trip_id    TEXT,
    data       TEXT NOT NULL
);
CREATE INDEX alerts_vin ON alerts(vin, started_at, id);
CREATE INDEX alerts_ended ON alerts(ended_at);

CREATE TABLE alarms (
    id   TEXT PRIMARY KEY,
    vin  TEXT NOT NULL,
    at   BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX alarms_vin ON alarms(vin, at, id);
CREATE INDEX alarms_at ON alarms(at);

CREATE TABLE collisions (
    id      TEXT PRIMARY KEY,
    vin     TEXT NOT NULL,
    at      BIGINT NOT NULL,
    trip_id TEXT,
    data    TEXT NOT NULL
);
CREATE INDEX collisions_vin ON collisions(vin, at, id);
CREATE INDEX collisions_at ON collisions(at);

CREATE TABLE stolen_periods (
    id         TEXT PRIMARY KEY,
    vin        TEXT NOT NULL,
    active     INTEGER NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at   BIGINT,
    data       TEXT NOT NULL
);
CREATE INDEX stolen_periods_vin ON stolen_periods(vin, started_at, id);
CREATE INDEX stolen_periods_ended ON stolen_periods(ended_at);
