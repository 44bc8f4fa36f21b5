-- Partners, their applications, fleets and vehicles, and the partner PKI records.
-- Times are Unix milliseconds (BIGINT) so that both backends share one representation.

CREATE TABLE partners (
    id            TEXT PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL,
    organization  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE applications (
    client_id  TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners(id),
    name       TEXT NOT NULL,
    versions   TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX applications_partner ON applications(partner_id);

CREATE TABLE fleets (
    id          TEXT PRIMARY KEY,
    partner_id  TEXT NOT NULL REFERENCES partners(id),
    name        TEXT NOT NULL,
    description TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX fleets_partner ON fleets(partner_id, created_at);

CREATE TABLE vehicles (
    id           TEXT PRIMARY KEY,
    vin          TEXT NOT NULL UNIQUE,
    motorization TEXT,
    brand        TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE fleet_vehicles (
    fleet_id   TEXT NOT NULL REFERENCES fleets(id),
    vehicle_id TEXT NOT NULL REFERENCES vehicles(id),
    vin        TEXT NOT NULL,
    added_at   BIGINT NOT NULL,
    PRIMARY KEY (fleet_id, vehicle_id)
);
CREATE INDEX fleet_vehicles_vin ON fleet_vehicles(fleet_id, vin);

CREATE TABLE csr_requests (
    id                 TEXT PRIMARY KEY,
    partner_id         TEXT NOT NULL REFERENCES partners(id),
    status             TEXT NOT NULL,
    subject            TEXT NOT NULL,
    email              TEXT NOT NULL,
    csr_pem            TEXT NOT NULL,
    reason             TEXT,
    certificate_serial TEXT,
    created_at         BIGINT NOT NULL,
    decided_at         BIGINT
);
CREATE INDEX csr_requests_status ON csr_requests(status, created_at);

CREATE TABLE certificates (
    serial            TEXT PRIMARY KEY,
    partner_id        TEXT NOT NULL REFERENCES partners(id),
    csr_id            TEXT,
    subject           TEXT NOT NULL,
    certificate_pem   TEXT NOT NULL,
    not_before        BIGINT NOT NULL,
    not_after         BIGINT NOT NULL,
    revoked_at        BIGINT,
    revocation_reason TEXT,
    created_at        BIGINT NOT NULL
);
CREATE INDEX certificates_partner ON certificates(partner_id);

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
