-- One vehicle-first index on the messages instead of two: the key that orders a vehicle's
-- listings (VIN, channel, time, id) also recognizes a message sent again, which carries
-- the same channel, time and id (the same rule as on SQLite).
ALTER TABLE vehicle_messages DROP CONSTRAINT vehicle_messages_pkey;
DROP INDEX vehicle_messages_listing;
ALTER TABLE vehicle_messages ADD CONSTRAINT vehicle_messages_key
    PRIMARY KEY (vin, channel, at, id);
