//! Counting what the simulator sent: messages by kind, the incidents and trips they carry,
//! and the report a run returns.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration as StdDuration;

use fleetgate_core::vehicle::message::{Event, Ignition, MessageBody};
use fleetgate_core::vehicle::VehicleMessage;
use time::OffsetDateTime;

use crate::scenario::ActivityCounts;

/// The kind of a message, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageKind {
    /// A telemetry sample.
    Telemetry,
    /// An alert event.
    Alert,
    /// An alarm event.
    Alarm,
    /// A collision event.
    Collision,
    /// A theft event.
    Theft,
    /// A command acknowledgement.
    Ack,
}

impl MessageKind {
    /// Every kind, in display order.
    pub const ALL: [Self; 6] = [
        Self::Telemetry,
        Self::Alert,
        Self::Alarm,
        Self::Collision,
        Self::Theft,
        Self::Ack,
    ];

    /// The kind of a message.
    pub fn of(message: &VehicleMessage) -> Self {
        match &message.body {
            MessageBody::Telemetry(_) => Self::Telemetry,
            MessageBody::Event(Event::Alert(_)) => Self::Alert,
            MessageBody::Event(Event::Alarm(_)) => Self::Alarm,
            MessageBody::Event(Event::Collision(_)) => Self::Collision,
            MessageBody::Event(Event::Theft(_)) => Self::Theft,
            MessageBody::Ack(_) => Self::Ack,
        }
    }

    /// The kind's name, lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Telemetry => "telemetry",
            Self::Alert => "alert",
            Self::Alarm => "alarm",
            Self::Collision => "collision",
            Self::Theft => "theft",
            Self::Ack => "ack",
        }
    }
}

/// Counts over a stream of messages. Feed one vehicle's messages in order (trips are
/// recognised from its ignition changes), then add the vehicles' tallies together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Messages counted.
    pub messages: u64,
    /// Messages by kind.
    pub by_kind: BTreeMap<MessageKind, u64>,
    /// Alerts raised (`active: true`).
    pub alerts_raised: u64,
    /// Alerts ended (`active: false`).
    pub alerts_ended: u64,
    /// Alarms that went off (with a trigger).
    pub alarms: u64,
    /// Collisions.
    pub collisions: u64,
    /// Thefts reported (`stolen: true`).
    pub thefts: u64,
    /// Stolen vehicles recovered (`stolen: false`).
    pub recoveries: u64,
    /// Trips started (ignition `StartUp`).
    pub trips_started: u64,
    /// Trips ended (ignition `Stop` after a start).
    pub trips_completed: u64,
    driving: bool,
}

impl Tally {
    /// Counts one message.
    pub fn record(&mut self, message: &VehicleMessage) {
        self.messages += 1;
        *self.by_kind.entry(MessageKind::of(message)).or_default() += 1;

        match &message.body {
            MessageBody::Telemetry(telemetry) => self.record_ignition(telemetry.ignition),
            MessageBody::Event(Event::Alert(alert)) if alert.active => self.alerts_raised += 1,
            MessageBody::Event(Event::Alert(_)) => self.alerts_ended += 1,
            MessageBody::Event(Event::Alarm(alarm)) if alarm.trigger.is_some() => self.alarms += 1,
            MessageBody::Event(Event::Collision(_)) => self.collisions += 1,
            MessageBody::Event(Event::Theft(theft)) if theft.stolen => self.thefts += 1,
            MessageBody::Event(Event::Theft(_)) => self.recoveries += 1,
            _ => {}
        }
    }

    fn record_ignition(&mut self, ignition: Option<Ignition>) {
        match ignition {
            Some(Ignition::StartUp) => {
                self.trips_started += 1;
                self.driving = true;
            }
            Some(Ignition::Stop) if self.driving => {
                self.trips_completed += 1;
                self.driving = false;
            }
            _ => {}
        }
    }

    /// Adds another vehicle's counts.
    pub fn add(&mut self, other: &Self) {
        self.messages += other.messages;
        for (kind, count) in &other.by_kind {
            *self.by_kind.entry(*kind).or_default() += count;
        }
        self.alerts_raised += other.alerts_raised;
        self.alerts_ended += other.alerts_ended;
        self.alarms += other.alarms;
        self.collisions += other.collisions;
        self.thefts += other.thefts;
        self.recoveries += other.recoveries;
        self.trips_started += other.trips_started;
        self.trips_completed += other.trips_completed;
    }

    /// The count of one kind.
    pub fn count(&self, kind: MessageKind) -> u64 {
        self.by_kind.get(&kind).copied().unwrap_or(0)
    }
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The configured duration elapsed.
    DurationElapsed,
    /// The caller's shutdown signal (Ctrl-C) resolved.
    Shutdown,
}

/// What a simulation run did.
#[derive(Debug, Clone, PartialEq)]
pub struct SimReport {
    /// Vehicles simulated.
    pub vehicles: usize,
    /// Messages handed to the MQTT clients (QoS 1).
    pub messages_sent: u64,
    /// PUBACKs received.
    pub messages_acked: u64,
    /// Messages sent, by kind.
    pub by_kind: BTreeMap<MessageKind, u64>,
    /// Alerts raised.
    pub alerts: u64,
    /// Alarms that went off.
    pub alarms: u64,
    /// Collisions.
    pub collisions: u64,
    /// Thefts reported.
    pub thefts: u64,
    /// Stolen vehicles recovered.
    pub recoveries: u64,
    /// Trips started.
    pub trips_started: u64,
    /// Trips ended.
    pub trips_completed: u64,
    /// What the vehicles did (generated, including what was not sent yet at the end).
    pub activity: ActivityCounts,
    /// Commands received on the vehicles' command topics.
    pub commands_received: u64,
    /// Successful MQTT connections (first connections and reconnections).
    pub connections: u64,
    /// Failed or dropped connections.
    pub connection_failures: u64,
    /// Vehicle tasks that ended abnormally.
    pub task_failures: u64,
    /// The simulated time at the start.
    pub simulated_from: OffsetDateTime,
    /// The simulated time at the end.
    pub simulated_until: OffsetDateTime,
    /// The wall-clock time the run took.
    pub wall_time: StdDuration,
    /// Why it stopped.
    pub stopped_by: StopReason,
}

impl SimReport {
    /// Messages sent but not acknowledged.
    pub fn messages_unacked(&self) -> u64 {
        self.messages_sent.saturating_sub(self.messages_acked)
    }
}

impl fmt::Display for SimReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.wall_time.as_secs_f64().max(1e-3);
        writeln!(
            f,
            "{} vehicles, {:.0} s wall clock, simulated {} .. {}",
            self.vehicles,
            secs,
            rfc3339_seconds(self.simulated_from),
            rfc3339_seconds(self.simulated_until)
        )?;
        writeln!(
            f,
            "messages: {} sent, {} acknowledged ({:.1}/s), {} unacknowledged",
            self.messages_sent,
            self.messages_acked,
            self.messages_acked as f64 / secs,
            self.messages_unacked()
        )?;
        let kinds: Vec<String> = MessageKind::ALL
            .iter()
            .map(|kind| format!("{} {}", kind.as_str(), self.by_kind.get(kind).unwrap_or(&0)))
            .collect();
        writeln!(f, "by kind: {}", kinds.join(", "))?;
        writeln!(
            f,
            "trips: {} started, {} completed; refuels {}, charges {}, services {}",
            self.trips_started,
            self.trips_completed,
            self.activity.refuels,
            self.activity.charges,
            self.activity.services
        )?;
        writeln!(
            f,
            "incidents: {} alerts, {} alarms, {} collisions, {} thefts ({} recovered)",
            self.alerts, self.alarms, self.collisions, self.thefts, self.recoveries
        )?;
        write!(
            f,
            "connections: {} made, {} failed or dropped; {} commands received",
            self.connections, self.connection_failures, self.commands_received
        )
    }
}

/// A time as RFC 3339, to the second.
fn rfc3339_seconds(at: OffsetDateTime) -> String {
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}
