-- The trips of a vehicle by state of completion and start, so that the fleet-wide listing
-- and its count read the index alone, without visiting every trip's row.
CREATE INDEX trips_vin_done ON trips(vin, done, started_at, id);
