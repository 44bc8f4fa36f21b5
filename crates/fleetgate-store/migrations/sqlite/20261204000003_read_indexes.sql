-- Indexes of the fleet-wide listings, newest first.
-- A fleet's finished trips and their count: by vehicle and completion, read from the index
-- alone; and all trips by completion and start, which a page walks newest first, checking
-- fleet membership, until it has its rows.
CREATE INDEX trips_vin_done ON trips(vin, done, started_at, id);
CREATE INDEX trips_done_started ON trips(done, started_at, id);
-- A fleet's alerts by start, newest first.
CREATE INDEX alerts_started ON alerts(started_at, id);
