//! The 47 operations of the reference specification (`api-b2b.yaml` 3.19.2), with their
//! method, path template and operationId, and the paths fleetgate serves.
//!
//! Tests compare this table with the specification file, so it cannot drift silently.

use axum::http::Method;

/// One operation of the specification.
#[derive(Debug, Clone)]
pub struct Operation {
    /// HTTP method.
    pub method: Method,
    /// Path template below `/connectedcar/{version}`.
    pub path: &'static str,
    /// The specification's operationId.
    pub operation_id: &'static str,
    /// Whether fleetgate serves it.
    pub served: bool,
}

impl Operation {
    /// Whether the reference documents the operation for v3 only: the monitors and the
    /// remote actions.
    pub fn v3_only(&self) -> bool {
        self.path.contains("/monitors")
            || self.path.contains("/remote")
            || self.path.contains("/callbacks")
    }
}

macro_rules! operations {
    ($($method:ident $path:literal $id:literal $served:literal;)*) => {
        /// Every operation of the specification, in its order.
        pub fn all() -> Vec<Operation> {
            vec![$(Operation {
                method: Method::$method,
                path: $path,
                operation_id: $id,
                served: $served,
            }),*]
        }
    };
}

operations! {
    GET "/vehicles/{vin}" "getVehiclesCapabilities" true;
    GET "/fleets" "getFleets" true;
    GET "/fleets/{fid}" "getFleet" true;
    GET "/fleets/{fid}/vehicles" "getVehiclesByDevice" true;
    GET "/fleets/{fid}/vehicles/{vid}" "getVehicleByid" true;
    GET "/fleets/{fid}/vehicles/{vid}/lastPosition" "getCarLastPosition" true;
    GET "/fleets/{fid}/vehicles/{vid}/collisions" "getVehicleCollision" true;
    GET "/fleets/{fid}/vehicles/{vid}/collisions/{cid}" "getVehicleCollisionById" true;
    GET "/fleets/{fid}/vehicles/{vid}/maintenance" "getVehicleMaintenance" true;
    GET "/fleets/{fid}/status" "getFleetStatusList" true;
    GET "/fleets/{fid}/maintenances" "getFleetMantenanceList" true;
    GET "/fleets/{fid}/alerts" "getFleetAlertList" true;
    GET "/fleets/{fid}/alerts/{aid}" "getFleetAlertById" true;
    GET "/fleets/{fid}/vehicles/{vid}/status" "getFleetVehicleStatus" true;
    GET "/fleets/{fid}/vehicles/{vid}/alerts" "getVehicleAlerts" true;
    GET "/fleets/{fid}/vehicles/{vid}/alerts/{aid}" "getFleetVehicleAlertsById" true;
    GET "/fleets/{fid}/vehicles/{vid}/telemetry" "getTelemetry" true;
    GET "/fleets/{fid}/vehicles/{vid}/alarms" "getVehicleAlarms" true;
    GET "/fleets/{fid}/vehicles/{vid}/alarms/{aid}" "getVehicleAlarmsById" true;
    GET "/fleets/{fid}/vehicles/{vid}/stolen" "getVehicleStolenHistory" true;
    GET "/fleets/{fid}/vehicles/{vid}/stolen/{sid}" "getVehicleStolenById" true;
    GET "/fleets/{fid}/vehicles/{vid}/stolen/{sid}/waypoints" "getVehicleStolenIdPosition" true;
    GET "/fleets/{fid}/monitors" "getFleetMonitors" false;
    POST "/fleets/{fid}/monitors" "createFleetVehicleMonitor" false;
    PUT "/fleets/{fid}/monitors/{mid}" "updateFleetVehicleMonitor" false;
    GET "/fleets/{fid}/monitors/{mid}" "getFleetMonitorsStatusById" false;
    DELETE "/fleets/{fid}/monitors/{mid}" "deleteFleetMonitor" false;
    PUT "/fleets/{fid}/monitors/{mid}/status" "setFleetVehicleMonitorStatus" false;
    GET "/fleets/{fid}/vehicles/{vid}/trips" "getTripsByVehicle" true;
    GET "/fleets/{fid}/trips" "getFleetTrips" true;
    GET "/fleets/{fid}/vehicles/{vid}/trips/{tid}" "getFleetTripByVehicle" true;
    GET "/fleets/{fid}/vehicles/{vid}/trips/{tid}/collisions"
        "getTripCollisionsByTripAndVehicle" true;
    GET "/fleets/{fid}/collisions" "getFleetTripCollisions" true;
    GET "/fleets/{fid}/collisions/{cid}" "getCollisionsById" true;
    GET "/fleets/{fid}/vehicles/{vid}/trips/{tid}/alerts" "getFleetTripAlertByVehicle" true;
    GET "/fleets/{fid}/vehicles/{vid}/trips/{tid}/alerts/{aid}"
        "getFleetTripAlertByVehicleById" true;
    GET "/fleets/{fid}/vehicles/{vid}/trips/{tid}/wayPoints" "getPathForTrip" true;
    GET "/fleets/{fid}/vehicles/{vid}/trips/{tid}/telemetry" "getTelemetryForTripByVehicle" true;
    GET "/fleets/{fid}/remote/callbacks" "getFleetRemotes" false;
    POST "/fleets/{fid}/remote/callbacks" "setFleetVehicleRemote" false;
    PUT "/fleets/{fid}/remote/callbacks/{cbid}" "setFleetVehicleRemoteById" false;
    GET "/fleets/{fid}/remote/callbacks/{cbid}" "getFleetRemotebyId" false;
    DELETE "/fleets/{fid}/remote/callbacks/{cbid}" "deleteFleetRemote" false;
    PUT "/fleets/{fid}/remote/callbacks/{cbid}/status" "setFleeRemoteCallbackStatus" false;
    POST "/fleets/{fid}/vehicles/{vid}/callbacks/{cbid}/remotes" "sendRemoteToVhl" false;
    GET "/fleets/{fid}/vehicles/{vid}/callbacks/{cbid}/remotes" "getRemoteRequestsForVhl" false;
    GET "/fleets/{fid}/vehicles/{vid}/callbacks/{cbid}/remotes/{rid}"
        "getRemoteRequestForVhlById" false;
}

/// The operations whose path template matches `path` (below `/connectedcar/{version}`).
pub fn matching(path: &str) -> Vec<Operation> {
    all()
        .into_iter()
        .filter(|op| template_matches(op.path, path))
        .collect()
}

fn template_matches(template: &str, path: &str) -> bool {
    let mut expected = template.trim_matches('/').split('/');
    let mut actual = path
        .trim_end_matches('/')
        .trim_start_matches('/')
        .split('/');
    loop {
        match (expected.next(), actual.next()) {
            (None, None) => return true,
            (Some(e), Some(a)) if e.starts_with('{') => {
                if a.is_empty() {
                    return false;
                }
            }
            (Some(e), Some(a)) if e == a => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_concrete_paths_segment_by_segment() {
        assert!(template_matches(
            "/fleets/{fid}/alerts",
            "/fleets/abc/alerts"
        ));
        assert!(!template_matches("/fleets/{fid}/alerts", "/fleets//alerts"));
        assert!(!template_matches("/fleets/{fid}", "/fleets/abc/alerts"));
        assert_eq!(matching("/fleets/x/monitors/y").len(), 3);
        assert!(matching("/nothing").is_empty());
    }

    #[test]
    fn the_table_holds_47_distinct_operations() {
        let ops = all();
        let mut ids: Vec<_> = ops.iter().map(|o| o.operation_id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!((ops.len(), ids.len()), (47, 47));
    }
}
