-- One vehicle-first index on the messages instead of two: the key that orders a vehicle's
-- listings (VIN, channel, time, id) also recognizes a message sent again, which carries
-- the same channel, time and id. Each vehicle-first index costs the writer a page per
-- vehicle of each batch; the messages' own table and the time index only grow at their
-- end. The rowids are kept: the rebuild of the vehicle states after a crash uses them.
CREATE TABLE vehicle_messages_keyed (
    vin         TEXT NOT NULL,
    id          TEXT NOT NULL,
    channel     TEXT NOT NULL,
    at          BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    payload     TEXT NOT NULL
);
INSERT INTO vehicle_messages_keyed (rowid, vin, id, channel, at, received_at, payload)
    SELECT rowid, vin, id, channel, at, received_at, payload FROM vehicle_messages
    ORDER BY rowid;
DROP TABLE vehicle_messages;
ALTER TABLE vehicle_messages_keyed RENAME TO vehicle_messages;
CREATE UNIQUE INDEX vehicle_messages_key ON vehicle_messages(vin, channel, at, id);
CREATE INDEX vehicle_messages_at ON vehicle_messages(at);
