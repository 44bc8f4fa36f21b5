//! `fleetgate simulate`: provisions simulated vehicles in a fleet (or reuses them) and
//! drives them through the real vehicle channel, as ordinary MQTT clients; or, with
//! `--history`, writes their past journeys into the database.

mod history;

use std::time::Duration;

use anyhow::{bail, Context as _};
use fleetgate_core::{FleetId, Vin};
use fleetgate_sim::{SimConfig, SimVehicle};
use fleetgate_store::Store;

use super::serve::shutdown_signal;
use super::vehicles::{provisioned_folder, VEHICLE_CERTIFICATE, VEHICLE_KEY};
use super::Context;
use crate::cli::SimulateArgs;
use crate::device_pki;
use crate::output;

/// Characters a VIN may hold (ISO 3779: no I, O or Q).
const VIN_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPRSTUVWXYZ";

/// Runs `simulate`.
pub async fn run(context: &Context, args: SimulateArgs) -> anyhow::Result<()> {
    let settings = sim_config(context, &args)?;
    let config = context.config()?;
    let store = context.store(&config).await?;
    let fleet = FleetId::parse(&args.fleet)?;
    if store.fleet(&fleet).await?.is_none() {
        bail!("no fleet {fleet}: `fleetgate fleet list LOGIN` shows a partner's fleets");
    }

    let vins = fleet_vins(&store, &fleet, args.vehicles, args.seed).await?;
    if let Some(span) = &args.history {
        return write_history(&store, vins, &settings, parse_duration(span)?, &args).await;
    }
    let vehicles = load_vehicles(context, &store, &vins, args.quiet).await?;
    eprintln!(
        "Simulating {} vehicles against mqtts://{}:{} (Ctrl-C stops)",
        vehicles.len(),
        settings.broker_host,
        settings.broker_port
    );

    if let Some(rate) = args.load_rate {
        return steady_load(settings, vehicles, rate, args.output.json).await;
    }
    let report = fleetgate_sim::run(settings, vehicles, shutdown_signal())
        .await
        .context("the simulation failed")?;
    output::print(args.output.json, &report_json(&report), || {
        format!("{report}")
    })
}

/// `--history`: the journeys of the last `span`, written into the database.
async fn write_history(
    store: &Store,
    vins: Vec<Vin>,
    settings: &SimConfig,
    span: Duration,
    args: &SimulateArgs,
) -> anyhow::Result<()> {
    let vehicles = vins.len();
    eprintln!(
        "Writing {} of journeys of {vehicles} vehicles",
        args.history.as_deref().unwrap_or("")
    );
    let history = history::HistorySettings {
        span,
        interval: settings.interval,
        incident_rate: settings.incident_rate,
        seed: settings.seed,
        progress: settings.show_progress,
    };
    let report = history::write(store, vins, history).await?;

    let result = serde_json::json!({
        "vehicles": vehicles,
        "generated": report.generated,
        "stored": report.stored,
        "seconds": report.seconds,
    });
    output::print(args.output.json, &result, || {
        format!(
            "{} messages of {vehicles} vehicles generated, {} stored, in {:.1} s",
            report.generated, report.stored, report.seconds
        )
    })
}

/// `--load-rate`: the steady load of the benchmarks.
async fn steady_load(
    settings: SimConfig,
    vehicles: Vec<SimVehicle>,
    rate: f64,
    json: bool,
) -> anyhow::Result<()> {
    let report = fleetgate_sim::steady_load(settings, vehicles, rate)
        .await
        .context("the load run failed")?;
    let result = serde_json::json!({
        "connected": report.connected,
        "sent": report.sent,
        "acked": report.acked,
        "connectionErrors": report.connection_errors,
        "seconds": report.seconds,
    });
    output::print(json, &result, || {
        format!(
            "{} vehicles connected; {} samples sent, {} acknowledged in {:.1} s; {} \
             connection errors",
            report.connected, report.sent, report.acked, report.seconds, report.connection_errors
        )
    })
}

fn report_json(report: &fleetgate_sim::SimReport) -> serde_json::Value {
    serde_json::json!({
        "vehicles": report.vehicles,
        "messagesSent": report.messages_sent,
        "messagesAcked": report.messages_acked,
        "alerts": report.alerts,
        "alarms": report.alarms,
        "collisions": report.collisions,
        "thefts": report.thefts,
        "recoveries": report.recoveries,
        "tripsStarted": report.trips_started,
        "tripsCompleted": report.trips_completed,
        "connections": report.connections,
        "connectionFailures": report.connection_failures,
        "wallSeconds": report.wall_time.as_secs_f64(),
    })
}

fn sim_config(context: &Context, args: &SimulateArgs) -> anyhow::Result<SimConfig> {
    let config = context.config()?;
    let (broker_host, broker_port) = match &args.broker {
        Some(address) => split_address(address)?,
        None => (
            config.vehicles.mqtt_public_host.clone(),
            config.vehicles.mqtt_listen.port(),
        ),
    };
    if !(args.interval.is_finite() && args.interval > 0.0) {
        bail!(
            "--interval must be a number of seconds above 0, found {}",
            args.interval
        );
    }
    let duration = args.duration.as_deref().map(parse_duration).transpose()?;
    let ca_pem = device_pki::read(&context.data_dir.device_ca_certificate())?;

    let mut settings = SimConfig::new(broker_host, broker_port, ca_pem);
    settings.interval = Duration::from_secs_f64(args.interval);
    settings.duration = duration;
    settings.time_scale = args.time_scale;
    settings.incident_rate = args.incident_rate;
    settings.seed = args.seed;
    settings.show_progress = !args.quiet;
    settings.connect_rate = args.connect_rate;
    settings
        .validate()
        .map_err(|e| anyhow::anyhow!("{e} (see `fleetgate simulate --help`)"))?;
    Ok(settings)
}

fn split_address(address: &str) -> anyhow::Result<(String, u16)> {
    let (host, port) = address
        .rsplit_once(':')
        .with_context(|| format!("--broker '{address}' is not HOST:PORT"))?;
    let port = port
        .parse()
        .with_context(|| format!("--broker '{address}': the port is not a number"))?;
    Ok((host.trim_matches(['[', ']']).to_owned(), port))
}

/// Parses `90`, `90s`, `10m`, `2h` or `3d`.
pub fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(index) => text.split_at(index),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v > 0.0)
        .with_context(|| format!("--duration '{text}': expected e.g. 90s, 10m, 2h or 3d"))?;
    let seconds = match unit {
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86_400.0,
        _ => bail!("--duration '{text}': the unit must be s, m, h or d"),
    };
    Ok(Duration::from_secs_f64(seconds))
}

/// The fleet's first `count` vehicles, creating the missing ones with VINs drawn from
/// the seed (so that the same seed reuses the same vehicles).
async fn fleet_vins(
    store: &Store,
    fleet: &FleetId,
    count: u32,
    seed: u64,
) -> anyhow::Result<Vec<Vin>> {
    if count == 0 {
        bail!("--vehicles must be at least 1");
    }
    let mut vins = Vec::new();
    let mut offset = 0;
    while vins.len() < count as usize {
        let (page, total) = store.vehicles_of_fleet(fleet, None, offset, 1000).await?;
        vins.extend(page.into_iter().map(|v| v.vin));
        offset += 1000;
        if offset >= total {
            break;
        }
    }
    vins.truncate(count as usize);

    let missing = count as usize - vins.len();
    if missing > 0 {
        let new: Vec<Vin> = (0..)
            .map(|index| simulated_vin(seed, index))
            .filter(|vin| !vins.contains(vin))
            .take(missing)
            .collect();
        store.add_vehicles(fleet, &new).await?;
        eprintln!("Added {} simulated vehicles to fleet {fleet}", new.len());
        vins.extend(new);
    }
    Ok(vins)
}

/// A valid, deterministic VIN for simulated vehicle `index` of `seed`: `VR3SMU` then 11
/// characters.
pub fn simulated_vin(seed: u64, index: u64) -> Vin {
    let mut value = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(index.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    let mut text = String::from("VR3SMU");
    for _ in 0..4 {
        text.push(VIN_ALPHABET[(value % 33) as usize] as char);
        value /= 33;
    }
    text.push_str(&format!("{:07}", index % 10_000_000));
    // 6 + 4 + 7 = 17 characters, each from VIN_ALPHABET or a digit: always a valid VIN.
    Vin::parse(&text).expect("17 characters from the VIN alphabet")
}

/// Provisions the vehicles that have no folder yet and reads their credentials.
pub(super) async fn load_vehicles(
    context: &Context,
    store: &Store,
    vins: &[Vin],
    quiet: bool,
) -> anyhow::Result<Vec<SimVehicle>> {
    let mut vehicles = Vec::with_capacity(vins.len());
    for (index, vin) in vins.iter().enumerate() {
        let folder = provisioned_folder(context, store, vin).await?;
        vehicles.push(SimVehicle {
            vin: vin.clone(),
            cert_pem: device_pki::read(&folder.join(VEHICLE_CERTIFICATE))?,
            key_pem: device_pki::read(&folder.join(VEHICLE_KEY))?,
        });
        let done = index + 1;
        if !quiet && (done % 500 == 0 || done == vins.len()) {
            eprintln!("  vehicle credentials ready: {done}/{}", vins.len());
        }
    }
    Ok(vehicles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_seconds_minutes_and_hours() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        for bad in ["", "0", "-3s", "5w", "m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn simulated_vins_are_valid_distinct_and_repeatable() {
        let first: Vec<Vin> = (0..1000).map(|i| simulated_vin(7, i)).collect();
        let again: Vec<Vin> = (0..1000).map(|i| simulated_vin(7, i)).collect();
        let other = simulated_vin(8, 0);

        let distinct: std::collections::HashSet<_> = first.iter().collect();
        assert_eq!(distinct.len(), 1000);
        assert_eq!(first, again);
        assert_ne!(first[0], other);
    }
}
