//! HAL collections as a partner walks them: a fleet of 150 vehicles read 60 at a time by
//! following `_links.next` with the same certificate and credentials, every page valid
//! against the spec's `Vehicles` schema with consistent `total`, `totalPage`, `currentPage`
//! and links, every VIN seen once; `last`, `prev` and `self` lead where they say; filters
//! are kept in the links; the media type follows `Accept`.

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::{require_tools, schema, ClientCertificate, Partner, PartnerSpec};
use support::{Request, Server, TestEnv};

/// The vehicles of the big fleet.
const FLEET_SIZE: usize = 150;

/// The largest page of ordinary collections.
const PAGE_SIZE: usize = 60;

/// A platform with one partner owning a fleet of [`FLEET_SIZE`] vehicles, enrolled.
struct BigFleet {
    server: Server,
    partner: Partner,
    certificate: ClientCertificate,
    _env: TestEnv,
}

impl BigFleet {
    fn start() -> Option<Self> {
        if !require_tools(&["openssl", "curl"]) {
            return None;
        }
        let env = TestEnv::new();
        let partner = env.partner_with(&PartnerSpec {
            vehicles: FLEET_SIZE,
            ..PartnerSpec::default()
        });
        let server = env.serve();
        let certificate = partner.enroll(&env, &server);
        Some(Self {
            server,
            partner,
            certificate,
            _env: env,
        })
    }

    /// A gateway call of `path` below `/connectedcar/v3`, with the partner's client id.
    fn call(&self, path: &str) -> Request {
        self.partner
            .call(&self.server, &self.certificate.auth(), path)
    }

    /// Follows a HAL link (an absolute URL) with the same certificate and credentials.
    fn follow(&self, link: &Value) -> Value {
        let href = link["href"]
            .as_str()
            .unwrap_or_else(|| panic!("a link without href: {link}"));
        Request::to_url(&self.server, href)
            .client(&self.certificate.auth())
            .basic(&self.partner.login, &self.partner.password)
            .header("Accept: application/hal+json")
            .send()
            .expect_json(200)
    }

    fn vehicles_path(&self) -> String {
        format!("/fleets/{}/vehicles", self.partner.fleet_id())
    }
}

#[test]
fn following_next_links_reads_a_fleet_of_150_vehicles_in_three_consistent_pages() {
    let Some(fleet) = BigFleet::start() else {
        return;
    };
    let path = format!("{}?pageSize={PAGE_SIZE}", fleet.vehicles_path());
    let mut page = fleet.call(&path).send().expect_json(200);

    let mut pages = Vec::new();
    loop {
        let number = pages.len() + 1;
        check_vehicle_page(&fleet, &page, number);
        pages.push(page.clone());

        match page["_links"].get("next") {
            Some(next) => page = fleet.follow(next),
            None => break,
        }
        assert!(pages.len() < 10, "next links never end");
    }
    assert_eq!(pages.len(), 3);

    let sizes: Vec<_> = pages.iter().map(|page| vins_of(page).len()).collect();
    assert_eq!(sizes, [60, 60, 30]);
    let all: Vec<String> = pages.iter().flat_map(vins_of).collect();
    let distinct: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(distinct.len(), all.len(), "a VIN was listed twice");
    let expected: BTreeSet<_> = fleet.partner.vins.iter().cloned().collect();
    assert_eq!(
        distinct, expected,
        "the pages do not hold the fleet's vehicles"
    );

    for page in &pages[1..] {
        assert_eq!(page["_links"]["first"], pages[0]["_links"]["first"]);
        assert_eq!(page["_links"]["last"], pages[0]["_links"]["last"]);
    }
    let last = fleet.follow(&pages[0]["_links"]["last"]);
    assert_eq!(
        vins_of(&last),
        vins_of(&pages[2]),
        "last does not lead to the last page"
    );
    let prev = fleet.follow(&pages[2]["_links"]["prev"]);
    assert_eq!(
        vins_of(&prev),
        vins_of(&pages[1]),
        "prev does not lead back"
    );
    let again = fleet.follow(&pages[1]["_links"]["self"]);
    assert_eq!(
        vins_of(&again),
        vins_of(&pages[1]),
        "self does not lead to the same page"
    );
    let first = fleet.follow(&pages[2]["_links"]["first"]);
    assert_eq!(
        vins_of(&first),
        vins_of(&pages[0]),
        "first does not lead to page 1"
    );
}

#[test]
fn without_page_size_a_page_holds_60_vehicles_and_accept_json_gets_plain_json() {
    let Some(fleet) = BigFleet::start() else {
        return;
    };

    let reply = fleet.call(&fleet.vehicles_path()).send();
    let page = reply.expect_json(200);
    assert_eq!(reply.content_type, "application/hal+json");
    schema::assert_valid("Vehicles", &page);
    assert_eq!(vins_of(&page).len(), PAGE_SIZE);
    assert_eq!(page["totalPage"], 3);

    let plain = Request::get(
        &fleet.server,
        &format!(
            "/connectedcar/v3{}?client_id={}",
            fleet.vehicles_path(),
            fleet.partner.client_id
        ),
    )
    .client(&fleet.certificate.auth())
    .basic(&fleet.partner.login, &fleet.partner.password)
    .header("Accept: application/json")
    .send();
    plain.expect_json(200);
    assert_eq!(plain.content_type, "application/json");
}

#[test]
fn a_vin_prefix_filter_narrows_the_collection_and_stays_in_every_link() {
    let Some(fleet) = BigFleet::start() else {
        return;
    };
    // The support VINs end with an eight-digit index: this prefix holds indices 0 to 99.
    let prefix = &fleet.partner.vins[0][..15];

    let path = format!("{}?vinPrefix={prefix}&pageSize=40", fleet.vehicles_path());
    let mut page = fleet.call(&path).send().expect_json(200);
    let mut seen = Vec::new();
    loop {
        schema::assert_valid("Vehicles", &page);
        assert_eq!(page["total"], 100, "{page}");
        assert_eq!(page["totalPage"], 3, "{page}");
        for (name, link) in page["_links"].as_object().expect("_links") {
            let href = link["href"].as_str().unwrap_or_default();
            assert!(
                href.contains(&format!("vinPrefix={prefix}")),
                "{name}: {href}"
            );
        }
        seen.extend(vins_of(&page));
        match page["_links"].get("next") {
            Some(next) => page = fleet.follow(next),
            None => break,
        }
    }

    let expected: Vec<_> = fleet.partner.vins[..100].to_vec();
    let mut seen_sorted = seen.clone();
    seen_sorted.sort();
    assert_eq!(seen_sorted, expected);
    assert_eq!(seen.len(), 100, "a VIN was listed twice");
}

#[test]
fn the_fleets_of_a_partner_are_paged_and_valid_fleets_documents() {
    if !require_tools(&["openssl", "curl"]) {
        return;
    }
    let env = TestEnv::new();
    let partner = env.partner_with(&PartnerSpec {
        fleets: 5,
        vehicles: 0,
        ..PartnerSpec::default()
    });
    let other = env.partner();
    let server = env.serve();
    let certificate = partner.enroll(&env, &server);

    let mut page = partner
        .call(&server, &certificate.auth(), "/fleets?pageSize=2")
        .send()
        .expect_json(200);
    let mut seen = Vec::new();
    for number in 1..=3 {
        schema::assert_valid("Fleets", &page);
        assert_eq!(page["total"], 5, "{page}");
        assert_eq!(page["totalPage"], 3, "{page}");
        assert_eq!(page["currentPage"], number, "{page}");
        for fleet in page["_embedded"]["fleets"].as_array().expect("fleets") {
            schema::assert_valid("Fleet", fleet);
            seen.push(fleet["id"].as_str().expect("id").to_owned());
        }
        let Some(next) = page["_links"].get("next") else {
            break;
        };
        let href = next["href"].as_str().expect("href");
        page = Request::to_url(&server, href)
            .client(&certificate.auth())
            .basic(&partner.login, &partner.password)
            .header("Accept: application/hal+json")
            .send()
            .expect_json(200);
    }

    seen.sort();
    let mut expected = partner.fleet_ids.clone();
    expected.sort();
    assert_eq!(seen, expected);
    assert!(!seen.contains(&other.fleet_id().to_owned()));
}

/// Checks one page of the big fleet read with `pageSize=60`.
fn check_vehicle_page(fleet: &BigFleet, page: &Value, number: usize) {
    schema::assert_valid("Vehicles", page);
    assert_eq!(page["total"], FLEET_SIZE, "page {number}");
    assert_eq!(page["totalPage"], 3, "page {number}");
    assert_eq!(page["currentPage"], number, "page {number}");

    let links = page["_links"].as_object().expect("_links");
    assert!(links.contains_key("self") && links.contains_key("first"));
    assert!(links.contains_key("last"), "page {number} has no last link");
    assert_eq!(
        links.contains_key("prev"),
        number > 1,
        "prev on page {number}"
    );
    assert_eq!(
        links.contains_key("next"),
        number < 3,
        "next on page {number}"
    );

    let base = format!(
        "{}/connectedcar/v3{}?",
        fleet.server.origin(),
        fleet.vehicles_path()
    );
    let client_id = format!("client_id={}", fleet.partner.client_id);
    for (name, link) in links {
        let href = link["href"].as_str().unwrap_or_default();
        assert!(href.starts_with(&base), "{name} of page {number}: {href}");
        assert!(href.contains(&client_id), "{name} of page {number}: {href}");
    }

    for vehicle in page["_embedded"]["vehicles"].as_array().expect("vehicles") {
        let self_link = vehicle["_links"]["self"]["href"]
            .as_str()
            .unwrap_or_default();
        assert!(self_link.contains(&client_id), "vehicle link {self_link}");
    }
}

/// The VINs of one page, in order.
fn vins_of(page: &Value) -> Vec<String> {
    page["_embedded"]["vehicles"]
        .as_array()
        .unwrap_or_else(|| panic!("no _embedded.vehicles in {page}"))
        .iter()
        .map(|vehicle| vehicle["vin"].as_str().expect("vin").to_owned())
        .collect()
}
