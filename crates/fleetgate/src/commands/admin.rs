//! Operator commands for partners, applications, fleets and vehicles.

use std::io::BufRead;

use anyhow::{bail, Context as _};
use fleetgate_core::{ApiVersion, ClientId, ConnectedService, FleetId, Login, Vin};
use fleetgate_store::{ApplicationTerms, NewPartner, RateLimits, Store};
use serde::Serialize;
use serde_json::json;

use super::Context;
use crate::cli::{
    AppCommand, FleetCommand, LimitArgs, PartnerCommand, PartnerCreateArgs, ServiceArg,
    VehicleCommand, VersionArg,
};
use crate::output;

/// Runs `partner ...`.
pub async fn partner(context: &Context, command: PartnerCommand) -> anyhow::Result<()> {
    let config = context.config()?;
    let store = context.store(&config).await?;
    match command {
        PartnerCommand::Create(args) => create_partner(&store, args).await,
        PartnerCommand::List(out) => {
            let partners = store.partners().await?;
            let rows: Vec<_> = partners
                .iter()
                .map(
                    |p| json!({"login": p.login, "email": p.email, "organization": p.organization}),
                )
                .collect();
            output::print(out.json, &rows, || {
                let lines: Vec<_> = partners
                    .iter()
                    .map(|p| format!("{}  {}  {}", p.login, p.organization, p.email))
                    .collect();
                if lines.is_empty() {
                    "no partners".into()
                } else {
                    lines.join("\n")
                }
            })
        }
    }
}

#[derive(Serialize)]
struct CreatedPartner {
    login: String,
    password: Option<String>,
}

async fn create_partner(store: &Store, args: PartnerCreateArgs) -> anyhow::Result<()> {
    let login = Login::parse(&args.login)?;
    check_email(&args.email)?;
    if args.organization.trim().is_empty() {
        bail!("--organization must not be empty");
    }

    let (password, generated) = if args.password_stdin {
        (read_password_line()?, false)
    } else {
        (fleetgate_api::password::generate(), true)
    };
    let hash = fleetgate_api::password::hash(&password)?;

    let new = NewPartner {
        login: &login,
        email: &args.email,
        organization: &args.organization,
        password_hash: &hash,
    };
    store.create_partner(new).await?;
    tracing::info!(partner.login = %login, "partner created");

    let shown = generated.then(|| password.to_string());
    let created = CreatedPartner {
        login: login.to_string(),
        password: shown,
    };
    output::print(args.output.json, &created, || match &created.password {
        Some(password) => format!(
            "Created partner {login}\n  password: {password}\n  (shown once: it is stored hashed)"
        ),
        None => format!("Created partner {login} with the password read from stdin"),
    })
}

fn read_password_line() -> anyhow::Result<zeroize::Zeroizing<String>> {
    let mut line = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    Ok(zeroize::Zeroizing::new(password))
}

fn check_email(email: &str) -> anyhow::Result<()> {
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !email.contains(' ')
    });
    if !valid {
        bail!("--email '{email}' is not an e-mail address: expected name@domain.tld");
    }
    Ok(())
}

/// Runs `app ...`.
pub async fn app(context: &Context, command: AppCommand) -> anyhow::Result<()> {
    let config = context.config()?;
    let store = context.store(&config).await?;
    match command {
        AppCommand::Create(args) => {
            let partner = store.require_partner(&Login::parse(&args.login)?).await?;
            let mut versions: Vec<ApiVersion> = args.versions.iter().map(|v| version(*v)).collect();
            if versions.is_empty() {
                versions.push(ApiVersion::V3);
            }
            versions.dedup();

            let terms = ApplicationTerms {
                versions,
                limits: limits(&args.limits),
                services: services(&args.services),
            };
            let app = store
                .create_application_with(&partner.id, &args.name, &terms)
                .await?;
            let login = &partner.login;
            let client_id = &app.client_id;
            tracing::info!(client.id = %client_id, partner.login = %login, "application created");
            let result = json!({"clientId": app.client_id});
            output::print(args.output.json, &result, || {
                format!(
                    "Created application {} for {}\n  client id: {}",
                    args.name, partner.login, app.client_id
                )
            })
        }
        AppCommand::Limits(args) => {
            let client_id = ClientId::parse(&args.client_id)
                .map_err(|e| anyhow::anyhow!("client id '{}': {e}", args.client_id))?;
            let limits = limits(&args.limits);
            if !store.set_application_limits(&client_id, limits).await? {
                bail!("no application with client id {client_id}: see `fleetgate app list LOGIN`");
            }
            tracing::info!(client.id = %client_id, daily = limits.daily, burst = limits.burst,
                "rate limits set");
            let result = json!({"clientId": client_id, "dailyLimit": limits.daily,
                "burstLimit": limits.burst});
            output::print(args.output.json, &result, || {
                format!(
                    "Application {client_id}: {} requests per 24 hours, {} per second",
                    limits.daily, limits.burst
                )
            })
        }
        AppCommand::List(args) => {
            let partner = store.require_partner(&Login::parse(&args.login)?).await?;
            let apps = store.applications_of(&partner.id).await?;
            let rows: Vec<_> = apps
                .iter()
                .map(|a| {
                    let services: Vec<_> = a.services.iter().map(|s| s.as_str()).collect();
                    json!({
                        "clientId": a.client_id,
                        "name": a.name,
                        "versions": a.versions,
                        "services": services,
                        "dailyLimit": a.limits.daily,
                        "burstLimit": a.limits.burst,
                    })
                })
                .collect();
            output::print(args.output.json, &rows, || {
                let lines: Vec<_> = apps
                    .iter()
                    .map(|a| {
                        let versions: Vec<_> = a.versions.iter().map(|v| v.as_str()).collect();
                        format!("{}  {}  {}", a.client_id, a.name, versions.join(","))
                    })
                    .collect();
                if lines.is_empty() {
                    "no applications".into()
                } else {
                    lines.join("\n")
                }
            })
        }
    }
}

fn limits(args: &LimitArgs) -> RateLimits {
    RateLimits {
        daily: args.daily_limit,
        burst: args.burst_limit,
    }
}

/// The services named, or all of them when none is.
fn services(args: &[ServiceArg]) -> Vec<ConnectedService> {
    let mut services: Vec<_> = args
        .iter()
        .map(|arg| match arg {
            ServiceArg::ConnectedFleet => ConnectedService::ConnectedFleet,
            ServiceArg::Tmts => ConnectedService::Tmts,
            ServiceArg::Ubi => ConnectedService::Ubi,
        })
        .collect();
    if services.is_empty() {
        services = ConnectedService::ALL.to_vec();
    }
    services.sort_by_key(|service| service.as_str());
    services.dedup();
    services
}

fn version(arg: VersionArg) -> ApiVersion {
    match arg {
        VersionArg::V2 => ApiVersion::V2,
        VersionArg::V3 => ApiVersion::V3,
    }
}

/// Runs `fleet ...`.
pub async fn fleet(context: &Context, command: FleetCommand) -> anyhow::Result<()> {
    let config = context.config()?;
    let store = context.store(&config).await?;
    match command {
        FleetCommand::Create(args) => {
            let partner = store.require_partner(&Login::parse(&args.login)?).await?;
            if args.name.trim().is_empty() {
                bail!("--name must not be empty");
            }
            let fleet = store
                .create_fleet(&partner.id, &args.name, args.description.as_deref())
                .await?;
            let result = json!({"id": fleet.id});
            output::print(args.output.json, &result, || {
                format!(
                    "Created fleet {} for {}\n  id: {}",
                    args.name, partner.login, fleet.id
                )
            })
        }
        FleetCommand::List(args) => {
            let partner = store.require_partner(&Login::parse(&args.login)?).await?;
            let (fleets, _) = store.fleets_of(&partner.id, 0, u32::MAX).await?;
            let rows: Vec<_> = fleets
                .iter()
                .map(|f| json!({"id": f.id, "name": f.name}))
                .collect();
            output::print(args.output.json, &rows, || {
                let lines: Vec<_> = fleets
                    .iter()
                    .map(|f| format!("{}  {}", f.id, f.name))
                    .collect();
                if lines.is_empty() {
                    "no fleets".into()
                } else {
                    lines.join("\n")
                }
            })
        }
    }
}

/// Runs `vehicle ...`.
pub async fn vehicle(context: &Context, command: VehicleCommand) -> anyhow::Result<()> {
    let config = context.config()?;
    let store = context.store(&config).await?;
    match command {
        VehicleCommand::Provision(args) => super::vehicles::provision(context, args).await,
        VehicleCommand::Show(args) => super::vehicles::show(context, args).await,
        VehicleCommand::Add(args) => {
            let fleet_id = FleetId::parse(&args.fleet_id)?;
            if store.fleet(&fleet_id).await?.is_none() {
                bail!("no fleet {fleet_id}: `fleetgate fleet list LOGIN` shows a partner's fleets");
            }
            let vins = args
                .vins
                .iter()
                .map(|v| Vin::parse(v))
                .collect::<Result<Vec<_>, _>>()?;

            let added = store.add_vehicles(&fleet_id, &vins).await?;
            let result = json!({"added": added});
            output::print(args.output.json, &result, || {
                format!(
                    "Added {added} vehicle(s) to fleet {fleet_id} ({} already there)",
                    vins.len() as u64 - added
                )
            })
        }
    }
}
