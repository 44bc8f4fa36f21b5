//! The messages vehicles send, version 1 of `docs/vehicle-protocol.md`: parsed and
//! validated once here, so that everything downstream works on trusted values.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::Vin;

/// The only payload version this platform reads.
pub const PROTOCOL_VERSION: u8 = 1;

/// The largest payload accepted, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// How far in the future of the platform's clock a message's `at` may be.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);

/// The topic prefix of every vehicle's topics.
pub const TOPIC_PREFIX: &str = "fleetgate/v1/vehicles";

/// Which of a vehicle's uplink topics a message came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Periodic samples: `.../telemetry`.
    Telemetry,
    /// Alerts, alarms, collisions, thefts: `.../events`.
    Events,
    /// Acknowledgements of commands: `.../acks`.
    Acks,
}

impl Channel {
    /// The last segment of the topic.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Telemetry => "telemetry",
            Self::Events => "events",
            Self::Acks => "acks",
        }
    }

    /// The uplink topic of this channel for a vehicle.
    pub fn topic(self, vin: &Vin) -> String {
        format!("{TOPIC_PREFIX}/{}/{}", vin.as_str(), self.as_str())
    }
}

/// The topic a vehicle receives its commands on.
pub fn command_topic(vin: &Vin) -> String {
    format!("{TOPIC_PREFIX}/{}/commands", vin.as_str())
}

/// Splits an uplink topic into the VIN and the channel; `None` for any other topic.
pub fn parse_uplink_topic(topic: &str) -> Option<(Vin, Channel)> {
    let rest = topic.strip_prefix(TOPIC_PREFIX)?.strip_prefix('/')?;
    let (vin, channel) = rest.split_once('/')?;
    let channel = match channel {
        "telemetry" => Channel::Telemetry,
        "events" => Channel::Events,
        "acks" => Channel::Acks,
        _ => return None,
    };
    Some((Vin::parse(vin).ok()?, channel))
}

/// Why a payload was refused; the message names the field and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The payload is larger than [`MAX_PAYLOAD_BYTES`].
    #[error("payload of {size} bytes is larger than the {MAX_PAYLOAD_BYTES} bytes allowed")]
    TooLarge {
        /// The payload's size.
        size: usize,
    },
    /// The payload is not JSON of the expected shape.
    #[error("payload is not a valid {channel} message: {detail}")]
    Malformed {
        /// The channel whose shape was expected.
        channel: &'static str,
        /// What serde said, with the field's path.
        detail: String,
    },
    /// A field holds a value outside its range or vocabulary.
    #[error("field '{field}' is {found}: expected {expected}")]
    InvalidField {
        /// The field's path, e.g. `position.lat`.
        field: String,
        /// The value found, as text.
        found: String,
        /// What is accepted.
        expected: &'static str,
    },
}

impl MessageError {
    fn field(field: impl Into<String>, found: impl ToString, expected: &'static str) -> Self {
        Self::InvalidField {
            field: field.into(),
            found: found.to_string(),
            expected,
        }
    }
}

/// A validated message from a vehicle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VehicleMessage {
    /// The vehicle, from the topic (and so from its certificate).
    pub vin: Vin,
    /// The de-duplication key chosen by the vehicle.
    pub id: String,
    /// When the vehicle measured it.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What the message says.
    pub body: MessageBody,
}

/// The content of a message, one variant per channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MessageBody {
    /// A sample of the vehicle's state.
    Telemetry(Telemetry),
    /// Something that happened.
    Event(Event),
    /// The answer to a command.
    Ack(CommandAck),
}

impl MessageBody {
    /// The channel this body travels on.
    pub fn channel(&self) -> Channel {
        match self {
            Self::Telemetry(_) => Channel::Telemetry,
            Self::Event(_) => Channel::Events,
            Self::Ack(_) => Channel::Acks,
        }
    }
}

/// A telemetry sample; every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Telemetry {
    /// Where the vehicle is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<PositionFix>,
    /// The ignition state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignition: Option<Ignition>,
    /// The odometer, in km.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub odometer: Option<f64>,
    /// The vehicle's energies (one for ICE and BEV, two for PHEV).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub energies: Vec<EnergySample>,
    /// Days and distance before the next service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<MaintenanceSample>,
    /// The privacy state chosen by the driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<Privacy>,
    /// Other sections of the spec's `Status`, kept as sent.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub status: Map<String, Value>,
}

/// A position fix, in WGS 84.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PositionFix {
    /// Longitude, degrees.
    pub lon: f64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Altitude, metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<f64>,
    /// Course, degrees from north.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading: Option<u16>,
    /// Speed, km/h.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    /// Signal quality as reported by the receiver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_quality: Option<u32>,
    /// How the position was obtained.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<FixKind>,
    /// 2D or 3D fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_status: Option<FixStatus>,
}

/// How a position was obtained (the spec's `Position.properties.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FixKind {
    /// Measured by the satellite receiver.
    Acquire,
    /// Computed (dead reckoning).
    Estimated,
}

/// The spec's `fixStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FixStatus {
    /// Horizontal position only.
    #[serde(rename = "2D")]
    TwoD,
    /// Horizontal position and altitude.
    #[serde(rename = "3D")]
    ThreeD,
}

/// The spec's `IgnitionBase.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Ignition {
    /// Engine off.
    Stop,
    /// Starting.
    StartUp,
    /// Running.
    Start,
}

/// The spec's `EnergyType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EnergyType {
    /// A fuel tank.
    Fuel,
    /// A traction battery.
    Electric,
}

/// The spec's `EnergySubType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EnergySubType {
    /// Petrol or diesel.
    FossilEnergy,
    /// A battery.
    ElectricEnergy,
    /// A hydrogen tank.
    Hydrogen,
}

/// The kind of fuel of a fuel energy (not in the spec; describes the vehicle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FuelType {
    /// Petrol.
    Petrol,
    /// Diesel.
    Diesel,
}

/// One energy of the vehicle, as sampled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnergySample {
    /// Fuel or electric.
    #[serde(rename = "type")]
    pub kind: EnergyType,
    /// The sub-type, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_type: Option<EnergySubType>,
    /// Petrol or diesel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel_type: Option<FuelType>,
    /// Level, 0..100 %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<f64>,
    /// Autonomy, km.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autonomy: Option<u32>,
    /// Energy used since the vehicle was built: cl (fuel) or Wh (electric).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumption: Option<f64>,
    /// The spec's `EnergyCharging`, for electric energies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charging: Option<Map<String, Value>>,
}

/// Days and distance before the next service (negative when overdue).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MaintenanceSample {
    /// Days before the next service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_before_maintenance: Option<i32>,
    /// Kilometres before the next service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mileage_before_maintenance: Option<f64>,
}

/// The spec's `PrivacyBase.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Privacy {
    /// Everything is shared.
    None,
    /// The position is not shared.
    Geolocation,
    /// Nothing but what the law requires is shared.
    Full,
}

impl Privacy {
    /// Whether positions may be kept under this state.
    pub fn shares_position(self) -> bool {
        self == Self::None
    }
}

/// An event, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Event {
    /// An alert appears or ends.
    Alert(AlertEvent),
    /// The alarm is armed, disarmed or goes off.
    Alarm(AlarmEvent),
    /// A collision.
    Collision(CollisionEvent),
    /// The vehicle is reported stolen, or recovered.
    Theft(TheftEvent),
}

/// An alert appearing (`active`) or ending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertEvent {
    /// A value of the spec's `AlertMsgEnum`.
    pub alert: String,
    /// How serious it is.
    #[serde(default = "Severity::default_for_events")]
    pub severity: Severity,
    /// True when it appears, false when it ends.
    pub active: bool,
    /// Where, when the vehicle says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<PositionFix>,
}

/// The spec's alert severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Severity {
    /// Better fixed, but it works.
    Information,
    /// To fix soon.
    Warning,
    /// Starting prohibited without repair.
    Critical,
}

impl Severity {
    fn default_for_events() -> Self {
        Self::Warning
    }
}

/// The alarm's state, and its trigger when it went off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlarmEvent {
    /// `Active` (armed) or `Inactive`.
    pub activation: AlarmActivation,
    /// What set it off: a value of the spec's `BaseAlarmTrigger.type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// Where, when the vehicle says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<PositionFix>,
}

/// The spec's `BaseAlarmStatus.activation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlarmActivation {
    /// Armed.
    Active,
    /// Not armed.
    Inactive,
}

/// A collision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CollisionEvent {
    /// The spec's `CollisionDetails`, 1..8.
    pub details: Vec<CollisionDetail>,
    /// Whether the vehicle tipped over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tipped_over: Option<bool>,
    /// Whether a pedestrian was involved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pedestrian: Option<bool>,
    /// Where, when the vehicle says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<PositionFix>,
}

/// One impact of a collision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CollisionDetail {
    /// `Front`, `Rear` or `Lateral`.
    pub side: CollisionSide,
    /// `Minimal`, `Minor` or `Major`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<CollisionSeverity>,
}

/// The spec's collision side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CollisionSide {
    /// Front.
    Front,
    /// Rear.
    Rear,
    /// Side.
    Lateral,
}

/// The spec's collision severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CollisionSeverity {
    /// No emergency system activated.
    Minimal,
    /// Pretensioners only.
    Minor,
    /// Airbags and pretensioners.
    Major,
}

/// A theft report or recovery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TheftEvent {
    /// True when reported stolen, false when recovered.
    pub stolen: bool,
    /// Where, when the vehicle says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<PositionFix>,
}

/// The vehicle's answer to a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommandAck {
    /// The id of the command answered.
    pub command: String,
    /// How it went.
    pub status: AckStatus,
    /// Why it failed, with `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_cause: Option<String>,
}

/// The states a vehicle reports for a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AckStatus {
    /// Received, under way.
    Received,
    /// Done.
    Success,
    /// Nothing to do: already in the asked state.
    AlreadyDone,
    /// Could not be done.
    Failed,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventField {
    event: Event,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AckField {
    ack: CommandAck,
}

impl VehicleMessage {
    /// Parses and validates a payload received on `channel` of vehicle `vin`, at `now`.
    pub fn parse(
        vin: &Vin,
        channel: Channel,
        payload: &[u8],
        now: OffsetDateTime,
    ) -> Result<Self, MessageError> {
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(MessageError::TooLarge {
                size: payload.len(),
            });
        }

        let mut fields: Map<String, Value> = decode(channel, payload)?;
        let v = fields.remove("v");
        let id = fields.remove("id");
        let at = fields.remove("at");
        check_version(v)?;
        let id = check_id(id)?;
        let at = parse_time(at, now)?;

        let rest = Value::Object(fields);
        let body = match channel {
            Channel::Telemetry => MessageBody::Telemetry(decode_value(channel, rest)?),
            Channel::Events => MessageBody::Event(decode_value::<EventField>(channel, rest)?.event),
            Channel::Acks => MessageBody::Ack(decode_value::<AckField>(channel, rest)?.ack),
        };
        body.validate()?;

        Ok(Self {
            vin: vin.clone(),
            id,
            at,
            body,
        })
    }

    /// The payload as a vehicle sends it (the inverse of [`VehicleMessage::parse`]).
    pub fn to_payload(&self) -> Vec<u8> {
        let at = self.at.format(&Rfc3339).unwrap_or_default();
        let envelope = |body: Value| {
            let mut map = Map::new();
            map.insert("v".into(), PROTOCOL_VERSION.into());
            map.insert("id".into(), self.id.clone().into());
            map.insert("at".into(), at.clone().into());
            if let Value::Object(fields) = body {
                map.extend(fields);
            }
            Value::Object(map)
        };

        let value = match &self.body {
            MessageBody::Telemetry(t) => envelope(to_value(t)),
            MessageBody::Event(e) => envelope(serde_json::json!({ "event": e })),
            MessageBody::Ack(a) => envelope(serde_json::json!({ "ack": a })),
        };
        serde_json::to_vec(&value).unwrap_or_default()
    }

    /// The position the message carries, if any.
    pub fn position(&self) -> Option<&PositionFix> {
        match &self.body {
            MessageBody::Telemetry(t) => t.position.as_ref(),
            MessageBody::Event(Event::Alert(e)) => e.position.as_ref(),
            MessageBody::Event(Event::Alarm(e)) => e.position.as_ref(),
            MessageBody::Event(Event::Collision(e)) => e.position.as_ref(),
            MessageBody::Event(Event::Theft(e)) => e.position.as_ref(),
            MessageBody::Ack(_) => None,
        }
    }
}

fn to_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn decode<'a, T: Deserialize<'a>>(channel: Channel, payload: &'a [u8]) -> Result<T, MessageError> {
    serde_json::from_slice(payload).map_err(|e| MessageError::Malformed {
        channel: channel.as_str(),
        detail: e.to_string(),
    })
}

fn decode_value<T: serde::de::DeserializeOwned>(
    channel: Channel,
    value: Value,
) -> Result<T, MessageError> {
    serde_json::from_value(value).map_err(|e| MessageError::Malformed {
        channel: channel.as_str(),
        detail: e.to_string(),
    })
}

fn check_version(v: Option<Value>) -> Result<(), MessageError> {
    match v {
        Some(v) if v.as_u64() == Some(u64::from(PROTOCOL_VERSION)) => Ok(()),
        Some(v) => Err(MessageError::field("v", v, "1, the protocol version")),
        None => Err(MessageError::field(
            "v",
            "missing",
            "1, the protocol version",
        )),
    }
}

fn check_id(id: Option<Value>) -> Result<String, MessageError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
    let id = match id {
        Some(Value::String(id)) => id,
        Some(other) => return Err(MessageError::field("id", other, "a string")),
        None => {
            return Err(MessageError::field(
                "id",
                "missing",
                "the message's unique id",
            ))
        }
    };
    if (1..=64).contains(&id.len()) && id.chars().all(allowed) {
        Ok(id)
    } else {
        let shown: String = id.chars().take(70).collect();
        Err(MessageError::field(
            "id",
            format!("'{shown}'"),
            "1 to 64 characters among letters, digits, '.', '_', ':' and '-'",
        ))
    }
}

fn parse_time(at: Option<Value>, now: OffsetDateTime) -> Result<OffsetDateTime, MessageError> {
    const EXPECTED: &str = "an RFC 3339 time at most 5 minutes ahead of the platform's clock";

    let at = match at {
        Some(Value::String(at)) => at,
        Some(other) => return Err(MessageError::field("at", other, EXPECTED)),
        None => return Err(MessageError::field("at", "missing", EXPECTED)),
    };
    let parsed = OffsetDateTime::parse(&at, &Rfc3339)
        .map_err(|_| MessageError::field("at", format!("'{at}'"), EXPECTED))?;
    if parsed > now + MAX_CLOCK_SKEW {
        return Err(MessageError::field("at", format!("'{at}'"), EXPECTED));
    }
    Ok(parsed)
}

impl MessageBody {
    fn validate(&self) -> Result<(), MessageError> {
        match self {
            Self::Telemetry(t) => t.validate(),
            Self::Event(e) => e.validate(),
            Self::Ack(a) => a.validate(),
        }
    }
}

/// The sections of the spec's `Status` a telemetry `status` object may carry.
pub const STATUS_SECTIONS: &[&str] = &[
    "adas",
    "battery",
    "doorsState",
    "drivingBehavior",
    "engines",
    "environment",
    "kinetic",
    "lighting",
    "lightingSystem",
    "preconditioning",
    "safety",
    "transmission",
    "wipingBlades",
];

impl Telemetry {
    fn validate(&self) -> Result<(), MessageError> {
        if let Some(position) = &self.position {
            position.validate("position")?;
        }
        if let Some(odometer) = self.odometer {
            check_range(
                "odometer",
                odometer,
                0.0,
                10_000_000.0,
                "a distance in km, >= 0",
            )?;
        }
        if self.energies.len() > 4 {
            let found = format!("{} entries", self.energies.len());
            return Err(MessageError::field("energies", found, "at most 4 energies"));
        }
        for (index, energy) in self.energies.iter().enumerate() {
            energy.validate(index)?;
        }
        self.validate_status()
    }

    fn validate_status(&self) -> Result<(), MessageError> {
        for (name, value) in &self.status {
            let field = format!("status.{name}");
            if !STATUS_SECTIONS.contains(&name.as_str()) {
                return Err(MessageError::field(
                    field,
                    "an unknown section",
                    "one of the spec's Status sections: adas, battery, doorsState, \
                     drivingBehavior, engines, environment, kinetic, lighting, \
                     lightingSystem, preconditioning, safety, transmission, wipingBlades",
                ));
            }
            let shape_ok = if name == "engines" {
                value.is_array()
            } else {
                value.is_object()
            };
            if !shape_ok {
                let expected = if name == "engines" {
                    "a JSON array"
                } else {
                    "a JSON object"
                };
                return Err(MessageError::field(field, json_kind(value), expected));
            }
        }
        Ok(())
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn check_range(
    field: &str,
    value: f64,
    min: f64,
    max: f64,
    expected: &'static str,
) -> Result<(), MessageError> {
    if value.is_finite() && (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(MessageError::field(field, value, expected))
    }
}

impl PositionFix {
    fn validate(&self, field: &str) -> Result<(), MessageError> {
        let lon = format!("{field}.lon");
        check_range(&lon, self.lon, -180.0, 180.0, "a longitude in -180..180")?;
        let lat = format!("{field}.lat");
        check_range(&lat, self.lat, -90.0, 90.0, "a latitude in -90..90")?;
        if let Some(heading) = self.heading {
            if heading > 360 {
                let name = format!("{field}.heading");
                return Err(MessageError::field(name, heading, "degrees in 0..360"));
            }
        }
        if let Some(speed) = self.speed {
            let name = format!("{field}.speed");
            check_range(&name, speed, 0.0, 500.0, "a speed in km/h, 0..500")?;
        }
        if let Some(alt) = self.alt {
            let name = format!("{field}.alt");
            check_range(&name, alt, -1_000.0, 10_000.0, "an altitude in metres")?;
        }
        Ok(())
    }
}

impl EnergySample {
    fn validate(&self, index: usize) -> Result<(), MessageError> {
        if let Some(level) = self.level {
            let name = format!("energies[{index}].level");
            check_range(&name, level, 0.0, 100.0, "a percentage, 0..100")?;
        }
        if let Some(consumption) = self.consumption {
            let name = format!("energies[{index}].consumption");
            check_range(&name, consumption, 0.0, 1e12, "an energy counter, >= 0")?;
        }
        if self.kind == EnergyType::Electric && self.fuel_type.is_some() {
            let name = format!("energies[{index}].fuelType");
            return Err(MessageError::field(
                name,
                "set on an Electric energy",
                "fuelType only on Fuel energies",
            ));
        }
        Ok(())
    }
}

impl Event {
    fn validate(&self) -> Result<(), MessageError> {
        match self {
            Self::Alert(alert) => {
                let valid = !alert.alert.is_empty()
                    && alert.alert.len() <= 80
                    && alert.alert.chars().all(|c| c.is_ascii_alphanumeric());
                if !valid {
                    return Err(MessageError::field(
                        "event.alert",
                        format!("'{}'", alert.alert),
                        "a value of the spec's AlertMsgEnum, e.g. TirePuncture",
                    ));
                }
                validate_event_position(&alert.position)
            }
            Self::Alarm(alarm) => validate_event_position(&alarm.position),
            Self::Collision(collision) => {
                if !(1..=8).contains(&collision.details.len()) {
                    let found = format!("{} entries", collision.details.len());
                    return Err(MessageError::field(
                        "event.details",
                        found,
                        "1 to 8 impacts",
                    ));
                }
                validate_event_position(&collision.position)
            }
            Self::Theft(theft) => validate_event_position(&theft.position),
        }
    }
}

fn validate_event_position(position: &Option<PositionFix>) -> Result<(), MessageError> {
    match position {
        Some(position) => position.validate("event.position"),
        None => Ok(()),
    }
}

impl CommandAck {
    fn validate(&self) -> Result<(), MessageError> {
        if self.command.is_empty() || self.command.len() > 64 {
            return Err(MessageError::field(
                "ack.command",
                format!("'{}'", self.command),
                "the id of the command, 1 to 64 characters",
            ));
        }
        if self.status == AckStatus::Failed && self.failure_cause.is_none() {
            return Err(MessageError::field(
                "ack.failureCause",
                "missing",
                "a failure cause when status is Failed",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vin() -> Vin {
        Vin::parse("VF3ABCDE0FG123456").unwrap()
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::parse("2026-12-04T10:00:00Z", &Rfc3339).unwrap()
    }

    fn parse(channel: Channel, json: &str) -> Result<VehicleMessage, MessageError> {
        VehicleMessage::parse(&vin(), channel, json.as_bytes(), now())
    }

    #[test]
    fn a_full_telemetry_sample_is_read() {
        let message = parse(
            Channel::Telemetry,
            r#"{"v":1,"id":"m-1","at":"2026-12-04T09:59:00Z",
               "position":{"lon":2.35,"lat":48.85,"heading":90,"speed":42.5,"type":"Acquire"},
               "ignition":"Start","odometer":1234.5,
               "energies":[{"type":"Fuel","subType":"FossilEnergy","fuelType":"Diesel",
                            "level":55.5,"autonomy":420,"consumption":1000}],
               "maintenance":{"daysBeforeMaintenance":-3},
               "privacy":"None","status":{"battery":{"voltage":87}}}"#,
        )
        .unwrap();

        let MessageBody::Telemetry(t) = &message.body else {
            panic!("not telemetry: {message:?}");
        };
        assert_eq!(t.ignition, Some(Ignition::Start));
        assert_eq!(t.energies[0].fuel_type, Some(FuelType::Diesel));
        assert_eq!(t.maintenance.unwrap().days_before_maintenance, Some(-3));
        assert_eq!(message.position().unwrap().speed, Some(42.5));
    }

    #[test]
    fn payloads_round_trip() {
        let sample = parse(
            Channel::Events,
            r#"{"v":1,"id":"e-1","at":"2026-12-04T09:00:00Z",
               "event":{"type":"collision","details":[{"side":"Front","severity":"Major"}]}}"#,
        )
        .unwrap();

        let again = VehicleMessage::parse(&vin(), Channel::Events, &sample.to_payload(), now());

        assert_eq!(again.unwrap(), sample);
    }

    #[test]
    fn each_broken_rule_names_its_field() {
        let cases = [
            (r#"{"v":2,"id":"a","at":"2026-12-04T09:00:00Z"}"#, "'v'"),
            (r#"{"v":1,"id":"a b","at":"2026-12-04T09:00:00Z"}"#, "'id'"),
            (r#"{"v":1,"id":"a","at":"yesterday"}"#, "'at'"),
            (r#"{"v":1,"id":"a","at":"2026-12-04T11:00:00Z"}"#, "'at'"),
            (
                r#"{"v":1,"id":"a","at":"2026-12-04T09:00:00Z","position":{"lon":2,"lat":91}}"#,
                "'position.lat'",
            ),
            (
                r#"{"v":1,"id":"a","at":"2026-12-04T09:00:00Z",
                   "energies":[{"type":"Fuel","level":101}]}"#,
                "'energies[0].level'",
            ),
            (
                r#"{"v":1,"id":"a","at":"2026-12-04T09:00:00Z","status":{"engine":{}}}"#,
                "'status.engine'",
            ),
            (
                r#"{"v":1,"id":"a","at":"2026-12-04T09:00:00Z","status":{"battery":3}}"#,
                "'status.battery'",
            ),
        ];

        for (json, field) in cases {
            let error = parse(Channel::Telemetry, json).unwrap_err().to_string();
            assert!(error.contains(field), "{json}: {error}");
        }
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_malformed() {
        let unknown = parse(
            Channel::Telemetry,
            r#"{"v":1,"id":"a","at":"2026-12-04T09:00:00Z","odometre":5}"#,
        );
        let wrong_type = parse(
            Channel::Telemetry,
            r#"{"v":1,"id":"a","at":"2026-12-04T09:00:00Z","ignition":"On"}"#,
        );

        assert!(
            matches!(unknown, Err(MessageError::Malformed { .. })),
            "{unknown:?}"
        );
        assert!(
            matches!(wrong_type, Err(MessageError::Malformed { .. })),
            "{wrong_type:?}"
        );
    }

    #[test]
    fn a_failed_ack_needs_a_cause() {
        let error = parse(
            Channel::Acks,
            r#"{"v":1,"id":"a","at":"2026-12-04T09:00:00Z",
               "ack":{"command":"c1","status":"Failed"}}"#,
        )
        .unwrap_err();

        assert!(error.to_string().contains("ack.failureCause"), "{error}");
    }

    #[test]
    fn topics_name_the_vehicle_and_channel() {
        let topic = Channel::Events.topic(&vin());

        assert_eq!(topic, "fleetgate/v1/vehicles/VF3ABCDE0FG123456/events");
        assert_eq!(parse_uplink_topic(&topic), Some((vin(), Channel::Events)));
        assert_eq!(
            parse_uplink_topic("fleetgate/v1/vehicles/VF3ABCDE0FG123456/commands"),
            None
        );
        assert_eq!(
            parse_uplink_topic("fleetgate/v1/vehicles/short/events"),
            None
        );
    }
}
