//! A hand-drawn road network around Paris, and the quickest routes across it.
//!
//! The network is a small graph: junctions (nodes, in WGS 84 degrees) joined by roads (edges)
//! that carry a class and a speed limit. It has the boulevard périphérique as a ring, the
//! main avenues inside it, the motorways and expressways that leave it (A1, A3, A4, A6, A10,
//! A13, A14, A15, A86, N118) and a few suburban links. The coordinates are approximate, written
//! for this simulator; they only need to look right on a map, not to match a survey.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// The index of a junction in a [`Network`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u16);

impl NodeId {
    fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// The index of a directed edge in a [`Network`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EdgeId(pub u16);

impl EdgeId {
    fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// What kind of road an edge is: it sets the traffic lights and how fast traffic flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoadClass {
    /// A city street or avenue: traffic lights every few hundred metres.
    Street,
    /// The boulevard périphérique and urban boulevards: no lights, dense traffic.
    Ring,
    /// A dual carriageway (A86, N118 near Paris, N13).
    Expressway,
    /// A motorway.
    Motorway,
}

impl RoadClass {
    /// The share of the speed limit that traffic keeps on average, used to rank routes.
    pub fn flow_factor(self) -> f64 {
        match self {
            Self::Street => 0.5,
            Self::Ring => 0.75,
            Self::Expressway => 0.85,
            Self::Motorway => 0.9,
        }
    }
}

/// What a junction offers a vehicle that stops there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Services {
    /// A filling station.
    pub fuel: bool,
    /// A quick (DC) charging station.
    pub quick_charge: bool,
}

/// A junction of the network.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// A short name, for logs.
    pub name: &'static str,
    /// Longitude, degrees.
    pub lon: f64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Altitude, metres.
    pub alt: f64,
    /// What the junction offers.
    pub services: Services,
}

/// A directed road between two junctions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    /// Where the edge starts.
    pub from: NodeId,
    /// Where the edge ends.
    pub to: NodeId,
    /// The kind of road.
    pub class: RoadClass,
    /// The speed limit, km/h.
    pub speed_limit_kmh: f64,
    /// The length, metres (great-circle distance between its ends).
    pub length_m: f64,
}

impl Edge {
    /// The time an average vehicle takes to drive it, seconds.
    pub fn travel_time_s(&self) -> f64 {
        self.length_m / (self.speed_limit_kmh / 3.6 * self.class.flow_factor())
    }
}

/// A path across the network: consecutive edges from an origin to a destination.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The junctions passed, origin first, destination last.
    pub nodes: Vec<NodeId>,
    /// The edges driven, one fewer than the nodes.
    pub edges: Vec<EdgeId>,
    /// The total length, metres.
    pub length_m: f64,
    /// The expected driving time, seconds.
    pub travel_time_s: f64,
}

impl Route {
    /// The origin.
    pub fn origin(&self) -> NodeId {
        self.nodes[0]
    }

    /// The destination.
    pub fn destination(&self) -> NodeId {
        self.nodes[self.nodes.len() - 1]
    }
}

/// The built-in tables refer to a junction they do not define.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    /// A road names an unknown junction.
    #[error("road {from} - {to} names the unknown junction '{missing}'")]
    UnknownNode {
        /// The road's first end.
        from: &'static str,
        /// The road's second end.
        to: &'static str,
        /// The name not found.
        missing: &'static str,
    },
    /// Two junctions share a name.
    #[error("junction '{0}' is defined twice")]
    DuplicateNode(&'static str),
    /// More junctions or edges than the 16-bit ids can hold.
    #[error("network too large: {0} items")]
    TooLarge(usize),
}

/// A junction as written in a table: name, latitude, longitude, altitude, services.
pub type NodeRow = (&'static str, f64, f64, f64, Services);

/// A two-way road as written in a table: both ends, class, speed limit in km/h.
pub type RoadRow = (&'static str, &'static str, RoadClass, f64);

/// A road graph with its junctions, directed edges and adjacency lists.
#[derive(Debug, Clone)]
pub struct Network {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    outgoing: Vec<Vec<EdgeId>>,
}

impl Network {
    /// The built-in network around Paris.
    pub fn paris() -> Self {
        // The tables below are fixed; `paris_tables_are_consistent` checks they resolve.
        Self::from_tables(PARIS_NODES, PARIS_ROADS).expect("the built-in Paris tables resolve")
    }

    /// Builds a network from junction and road tables; every road is made two-way.
    pub fn from_tables(nodes: &[NodeRow], roads: &[RoadRow]) -> Result<Self, NetworkError> {
        if nodes.len() > usize::from(u16::MAX) || roads.len() * 2 > usize::from(u16::MAX) {
            return Err(NetworkError::TooLarge(nodes.len().max(roads.len() * 2)));
        }

        let nodes = build_nodes(nodes)?;
        let mut network = Self {
            outgoing: vec![Vec::new(); nodes.len()],
            nodes,
            edges: Vec::with_capacity(roads.len() * 2),
        };
        for &(a, b, class, limit) in roads {
            let from = network.find(a, a, b)?;
            let to = network.find(b, a, b)?;
            network.add_edge(from, to, class, limit);
            network.add_edge(to, from, class, limit);
        }
        Ok(network)
    }

    fn find(
        &self,
        name: &'static str,
        a: &'static str,
        b: &'static str,
    ) -> Result<NodeId, NetworkError> {
        self.node_named(name).ok_or(NetworkError::UnknownNode {
            from: a,
            to: b,
            missing: name,
        })
    }

    fn add_edge(&mut self, from: NodeId, to: NodeId, class: RoadClass, speed_limit_kmh: f64) {
        let length_m = distance_m(self.node(from).lon_lat(), self.node(to).lon_lat());
        let id = EdgeId(self.edges.len() as u16);
        self.edges.push(Edge {
            from,
            to,
            class,
            speed_limit_kmh,
            length_m,
        });
        self.outgoing[from.index()].push(id);
    }

    /// The junctions.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The number of junctions.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Every junction's id.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> {
        (0..self.nodes.len()).map(|i| NodeId(i as u16))
    }

    /// The directed edges.
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// A junction.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    /// An edge.
    pub fn edge(&self, id: EdgeId) -> &Edge {
        &self.edges[id.index()]
    }

    /// The edges leaving a junction.
    pub fn outgoing(&self, id: NodeId) -> &[EdgeId] {
        &self.outgoing[id.index()]
    }

    /// The junction with this name.
    pub fn node_named(&self, name: &str) -> Option<NodeId> {
        let index = self.nodes.iter().position(|node| node.name == name)?;
        Some(NodeId(index as u16))
    }

    /// The edge from one junction straight to another, if any.
    pub fn edge_between(&self, from: NodeId, to: NodeId) -> Option<EdgeId> {
        self.outgoing(from)
            .iter()
            .copied()
            .find(|&edge| self.edge(edge).to == to)
    }

    /// Whether every junction can be reached from every other.
    pub fn is_connected(&self) -> bool {
        if self.nodes.is_empty() {
            return true;
        }
        let times = self.travel_times_from(NodeId(0));
        times.iter().all(|time| time.is_finite())
    }

    /// The quickest route (on expected travel time) between two junctions.
    pub fn route(&self, from: NodeId, to: NodeId) -> Option<Route> {
        let search = self.search(from);
        search.route_to(self, to)
    }

    /// The quickest route from a junction to the nearest junction offering `wanted`.
    pub fn route_to_nearest(
        &self,
        from: NodeId,
        wanted: impl Fn(&Services) -> bool,
    ) -> Option<Route> {
        let search = self.search(from);
        let best = self
            .node_ids()
            .filter(|&id| wanted(&self.node(id).services))
            .filter(|&id| search.time[id.index()].is_finite())
            .min_by(|&a, &b| search.time[a.index()].total_cmp(&search.time[b.index()]))?;
        search.route_to(self, best)
    }

    /// The expected travel time from a junction to every junction, seconds (infinite when
    /// unreachable).
    pub fn travel_times_from(&self, from: NodeId) -> Vec<f64> {
        self.search(from).time
    }

    fn search(&self, from: NodeId) -> Search {
        let mut search = Search {
            time: vec![f64::INFINITY; self.nodes.len()],
            via: vec![None; self.nodes.len()],
        };
        let mut queue = BinaryHeap::new();
        search.time[from.index()] = 0.0;
        queue.push(Candidate {
            time: 0.0,
            node: from,
        });

        while let Some(Candidate { time, node }) = queue.pop() {
            if time > search.time[node.index()] {
                continue;
            }
            for &edge_id in self.outgoing(node) {
                let edge = self.edge(edge_id);
                let arrival = time + edge.travel_time_s();
                if arrival < search.time[edge.to.index()] {
                    search.time[edge.to.index()] = arrival;
                    search.via[edge.to.index()] = Some(edge_id);
                    queue.push(Candidate {
                        time: arrival,
                        node: edge.to,
                    });
                }
            }
        }
        search
    }
}

impl Node {
    /// The position as `(lon, lat)`.
    pub fn lon_lat(&self) -> (f64, f64) {
        (self.lon, self.lat)
    }
}

fn build_nodes(rows: &[NodeRow]) -> Result<Vec<Node>, NetworkError> {
    let mut nodes: Vec<Node> = Vec::with_capacity(rows.len());
    for &(name, lat, lon, alt, services) in rows {
        if nodes.iter().any(|node| node.name == name) {
            return Err(NetworkError::DuplicateNode(name));
        }
        nodes.push(Node {
            name,
            lon,
            lat,
            alt,
            services,
        });
    }
    Ok(nodes)
}

/// The result of one Dijkstra search: best times and the edge each node was reached by.
struct Search {
    time: Vec<f64>,
    via: Vec<Option<EdgeId>>,
}

impl Search {
    fn route_to(&self, network: &Network, to: NodeId) -> Option<Route> {
        let travel_time_s = *self.time.get(to.index())?;
        if !travel_time_s.is_finite() {
            return None;
        }

        let mut edges = Vec::new();
        let mut at = to;
        while let Some(edge_id) = self.via[at.index()] {
            edges.push(edge_id);
            at = network.edge(edge_id).from;
        }
        edges.reverse();

        let mut nodes = vec![at];
        nodes.extend(edges.iter().map(|&edge| network.edge(edge).to));
        let length_m = edges.iter().map(|&edge| network.edge(edge).length_m).sum();
        Some(Route {
            nodes,
            edges,
            length_m,
            travel_time_s,
        })
    }
}

/// A node waiting in the Dijkstra queue; the heap pops the smallest time first.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Candidate {
    time: f64,
    node: NodeId,
}

impl Eq for Candidate {}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .time
            .total_cmp(&self.time)
            .then_with(|| other.node.cmp(&self.node))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The mean Earth radius, metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// The great-circle distance between two `(lon, lat)` points, metres.
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lon1, lat1) = (a.0.to_radians(), a.1.to_radians());
    let (lon2, lat2) = (b.0.to_radians(), b.1.to_radians());
    let half_dlat = (lat2 - lat1) / 2.0;
    let half_dlon = (lon2 - lon1) / 2.0;

    let h = half_dlat.sin().powi(2) + lat1.cos() * lat2.cos() * half_dlon.sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// The initial course from one `(lon, lat)` point to another, degrees from north in 0..360.
pub fn bearing_deg(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lon1, lat1) = (a.0.to_radians(), a.1.to_radians());
    let (lon2, lat2) = (b.0.to_radians(), b.1.to_radians());
    let dlon = lon2 - lon1;

    let y = dlon.sin() * lat2.cos();
    let x = lat1.cos() * lat2.sin() - lat1.sin() * lat2.cos() * dlon.cos();
    y.atan2(x).to_degrees().rem_euclid(360.0)
}

const NONE: Services = Services {
    fuel: false,
    quick_charge: false,
};
const FUEL: Services = Services {
    fuel: true,
    quick_charge: false,
};
const BOTH: Services = Services {
    fuel: true,
    quick_charge: true,
};
const QUICK: Services = Services {
    fuel: false,
    quick_charge: true,
};

/// The junctions around Paris: name, latitude, longitude, altitude (m), services.
const PARIS_NODES: &[NodeRow] = &[
    // The boulevard périphérique, clockwise from Porte Maillot.
    ("porte-maillot", 48.8781, 2.2828, 35.0, NONE),
    ("porte-champerret", 48.8856, 2.2925, 38.0, NONE),
    ("porte-asnieres", 48.8893, 2.3005, 37.0, NONE),
    ("porte-clichy", 48.8946, 2.3133, 36.0, FUEL),
    ("porte-saint-ouen", 48.8972, 2.3290, 40.0, NONE),
    ("porte-clignancourt", 48.9002, 2.3447, 42.0, NONE),
    ("porte-chapelle", 48.8985, 2.3596, 40.0, NONE),
    ("porte-aubervilliers", 48.8983, 2.3710, 39.0, NONE),
    ("porte-villette", 48.8978, 2.3856, 45.0, FUEL),
    ("porte-pantin", 48.8885, 2.3986, 55.0, NONE),
    ("porte-lilas", 48.8770, 2.4068, 95.0, NONE),
    ("porte-bagnolet", 48.8638, 2.4088, 90.0, BOTH),
    ("porte-montreuil", 48.8535, 2.4105, 70.0, NONE),
    ("porte-vincennes", 48.8470, 2.4105, 55.0, NONE),
    ("porte-doree", 48.8355, 2.4060, 50.0, NONE),
    ("porte-bercy", 48.8290, 2.3920, 36.0, BOTH),
    ("porte-ivry", 48.8215, 2.3700, 40.0, NONE),
    ("porte-italie", 48.8190, 2.3595, 60.0, FUEL),
    ("porte-gentilly", 48.8170, 2.3440, 65.0, NONE),
    ("porte-orleans", 48.8230, 2.3255, 75.0, NONE),
    ("porte-vanves", 48.8270, 2.3050, 70.0, NONE),
    ("porte-versailles", 48.8320, 2.2875, 45.0, QUICK),
    ("porte-sevres", 48.8330, 2.2725, 33.0, NONE),
    ("porte-saint-cloud", 48.8380, 2.2570, 33.0, NONE),
    ("porte-auteuil", 48.8480, 2.2580, 35.0, FUEL),
    ("porte-muette", 48.8610, 2.2680, 45.0, NONE),
    ("porte-dauphine", 48.8710, 2.2750, 40.0, NONE),
    // Inside the ring.
    ("etoile", 48.8738, 2.2950, 58.0, NONE),
    ("concorde", 48.8656, 2.3212, 33.0, NONE),
    ("opera", 48.8711, 2.3317, 42.0, NONE),
    ("saint-lazare", 48.8766, 2.3250, 45.0, NONE),
    ("place-clichy", 48.8837, 2.3275, 55.0, NONE),
    ("gare-du-nord", 48.8809, 2.3553, 50.0, NONE),
    ("stalingrad", 48.8843, 2.3687, 52.0, NONE),
    ("republique", 48.8674, 2.3636, 42.0, NONE),
    ("belleville", 48.8722, 2.3767, 80.0, NONE),
    ("chatelet", 48.8584, 2.3470, 33.0, NONE),
    ("bastille", 48.8532, 2.3691, 35.0, NONE),
    ("nation", 48.8483, 2.3958, 50.0, NONE),
    ("gare-de-lyon", 48.8443, 2.3744, 36.0, QUICK),
    ("place-italie", 48.8310, 2.3556, 58.0, NONE),
    ("denfert", 48.8339, 2.3324, 64.0, NONE),
    ("montparnasse", 48.8421, 2.3219, 58.0, FUEL),
    ("invalides", 48.8566, 2.3126, 33.0, NONE),
    ("trocadero", 48.8629, 2.2876, 60.0, NONE),
    ("convention", 48.8372, 2.2965, 40.0, NONE),
    // West and north-west.
    ("pont-neuilly", 48.8848, 2.2593, 30.0, NONE),
    ("la-defense", 48.8920, 2.2380, 60.0, BOTH),
    ("nanterre", 48.8950, 2.2060, 35.0, FUEL),
    ("rueil", 48.8770, 2.1800, 30.0, QUICK),
    ("saint-germain", 48.8986, 2.0930, 80.0, FUEL),
    ("colombes", 48.9230, 2.2500, 30.0, NONE),
    ("gennevilliers", 48.9330, 2.3040, 30.0, BOTH),
    ("argenteuil", 48.9470, 2.2480, 35.0, FUEL),
    ("cergy", 49.0360, 2.0630, 60.0, BOTH),
    // North and north-east.
    ("saint-denis", 48.9245, 2.3602, 35.0, BOTH),
    ("le-bourget", 48.9465, 2.4328, 50.0, FUEL),
    ("roissy", 49.0097, 2.5479, 110.0, BOTH),
    ("la-courneuve", 48.9290, 2.3960, 40.0, NONE),
    ("bobigny", 48.9070, 2.4410, 50.0, FUEL),
    ("bondy", 48.9010, 2.4830, 55.0, NONE),
    ("aulnay", 48.9390, 2.4970, 60.0, QUICK),
    // East and south-east.
    ("rosny", 48.8740, 2.4840, 95.0, BOTH),
    ("nogent", 48.8370, 2.4830, 60.0, NONE),
    ("charenton", 48.8210, 2.4150, 35.0, NONE),
    ("joinville", 48.8180, 2.4600, 40.0, FUEL),
    ("noisy-le-grand", 48.8480, 2.5530, 80.0, QUICK),
    ("torcy", 48.8500, 2.6500, 70.0, FUEL),
    ("creteil", 48.7900, 2.4550, 40.0, BOTH),
    ("vitry", 48.7800, 2.4000, 40.0, NONE),
    // South.
    ("kremlin-bicetre", 48.8100, 2.3580, 70.0, NONE),
    ("chevilly", 48.7660, 2.3530, 85.0, FUEL),
    ("orly", 48.7262, 2.3652, 90.0, BOTH),
    ("wissous", 48.7320, 2.3270, 85.0, NONE),
    ("evry", 48.6290, 2.4410, 80.0, FUEL),
    ("massy", 48.7300, 2.2710, 90.0, QUICK),
    ("antony", 48.7540, 2.3000, 75.0, NONE),
    // South-west and west.
    ("pont-sevres", 48.8290, 2.2280, 30.0, NONE),
    ("velizy", 48.7830, 2.1930, 170.0, BOTH),
    ("saclay", 48.7310, 2.1680, 155.0, NONE),
    ("pont-saint-cloud", 48.8420, 2.2160, 35.0, NONE),
    ("vaucresson", 48.8390, 2.1630, 150.0, FUEL),
    ("rocquencourt", 48.8330, 2.1120, 140.0, NONE),
    ("versailles", 48.8049, 2.1204, 130.0, FUEL),
];

use RoadClass::{Expressway, Motorway, Ring, Street};

/// The roads between the junctions above: both ends, class, speed limit (km/h).
const PARIS_ROADS: &[RoadRow] = &[
    // The périphérique.
    ("porte-maillot", "porte-champerret", Ring, 70.0),
    ("porte-champerret", "porte-asnieres", Ring, 70.0),
    ("porte-asnieres", "porte-clichy", Ring, 70.0),
    ("porte-clichy", "porte-saint-ouen", Ring, 70.0),
    ("porte-saint-ouen", "porte-clignancourt", Ring, 70.0),
    ("porte-clignancourt", "porte-chapelle", Ring, 70.0),
    ("porte-chapelle", "porte-aubervilliers", Ring, 70.0),
    ("porte-aubervilliers", "porte-villette", Ring, 70.0),
    ("porte-villette", "porte-pantin", Ring, 70.0),
    ("porte-pantin", "porte-lilas", Ring, 70.0),
    ("porte-lilas", "porte-bagnolet", Ring, 70.0),
    ("porte-bagnolet", "porte-montreuil", Ring, 70.0),
    ("porte-montreuil", "porte-vincennes", Ring, 70.0),
    ("porte-vincennes", "porte-doree", Ring, 70.0),
    ("porte-doree", "porte-bercy", Ring, 70.0),
    ("porte-bercy", "porte-ivry", Ring, 70.0),
    ("porte-ivry", "porte-italie", Ring, 70.0),
    ("porte-italie", "porte-gentilly", Ring, 70.0),
    ("porte-gentilly", "porte-orleans", Ring, 70.0),
    ("porte-orleans", "porte-vanves", Ring, 70.0),
    ("porte-vanves", "porte-versailles", Ring, 70.0),
    ("porte-versailles", "porte-sevres", Ring, 70.0),
    ("porte-sevres", "porte-saint-cloud", Ring, 70.0),
    ("porte-saint-cloud", "porte-auteuil", Ring, 70.0),
    ("porte-auteuil", "porte-muette", Ring, 70.0),
    ("porte-muette", "porte-dauphine", Ring, 70.0),
    ("porte-dauphine", "porte-maillot", Ring, 70.0),
    // Avenues and boulevards inside the ring.
    ("etoile", "concorde", Street, 50.0),
    ("concorde", "opera", Street, 50.0),
    ("opera", "saint-lazare", Street, 50.0),
    ("saint-lazare", "place-clichy", Street, 50.0),
    ("opera", "republique", Street, 50.0),
    ("republique", "bastille", Street, 50.0),
    ("bastille", "nation", Street, 50.0),
    ("bastille", "gare-de-lyon", Street, 50.0),
    ("gare-de-lyon", "nation", Street, 50.0),
    ("chatelet", "bastille", Street, 50.0),
    ("concorde", "chatelet", Street, 50.0),
    ("chatelet", "republique", Street, 50.0),
    ("gare-du-nord", "republique", Street, 50.0),
    ("gare-du-nord", "stalingrad", Street, 50.0),
    ("stalingrad", "republique", Street, 50.0),
    ("place-clichy", "gare-du-nord", Street, 50.0),
    ("republique", "belleville", Street, 50.0),
    ("belleville", "nation", Street, 50.0),
    ("chatelet", "denfert", Street, 50.0),
    ("denfert", "place-italie", Street, 50.0),
    ("denfert", "montparnasse", Street, 50.0),
    ("montparnasse", "invalides", Street, 50.0),
    ("invalides", "concorde", Street, 50.0),
    ("invalides", "trocadero", Street, 50.0),
    ("trocadero", "etoile", Street, 50.0),
    ("gare-de-lyon", "place-italie", Street, 50.0),
    ("montparnasse", "convention", Street, 50.0),
    ("convention", "invalides", Street, 50.0),
    // From the centre out to the portes.
    ("etoile", "porte-maillot", Street, 50.0),
    ("etoile", "porte-dauphine", Street, 50.0),
    ("etoile", "porte-champerret", Street, 50.0),
    ("saint-lazare", "porte-asnieres", Street, 50.0),
    ("trocadero", "porte-muette", Street, 50.0),
    ("place-clichy", "porte-clichy", Street, 50.0),
    ("place-clichy", "porte-saint-ouen", Street, 50.0),
    ("gare-du-nord", "porte-clignancourt", Street, 50.0),
    ("gare-du-nord", "porte-chapelle", Street, 50.0),
    ("stalingrad", "porte-villette", Street, 50.0),
    ("belleville", "porte-lilas", Street, 50.0),
    ("nation", "porte-vincennes", Street, 50.0),
    ("nation", "porte-montreuil", Street, 50.0),
    ("gare-de-lyon", "porte-doree", Street, 50.0),
    ("gare-de-lyon", "porte-bercy", Street, 50.0),
    ("place-italie", "porte-italie", Street, 50.0),
    ("place-italie", "porte-ivry", Street, 50.0),
    ("denfert", "porte-orleans", Street, 50.0),
    ("montparnasse", "porte-vanves", Street, 50.0),
    ("convention", "porte-versailles", Street, 50.0),
    ("convention", "porte-sevres", Street, 50.0),
    // West: N13, A14, A86, A13, N118.
    ("porte-maillot", "pont-neuilly", Expressway, 70.0),
    ("pont-neuilly", "la-defense", Expressway, 70.0),
    ("la-defense", "nanterre", Motorway, 110.0),
    ("nanterre", "saint-germain", Motorway, 110.0),
    ("nanterre", "rueil", Expressway, 90.0),
    ("rueil", "versailles", Expressway, 70.0),
    ("la-defense", "colombes", Expressway, 90.0),
    ("porte-auteuil", "pont-saint-cloud", Motorway, 90.0),
    ("pont-saint-cloud", "vaucresson", Motorway, 110.0),
    ("vaucresson", "rocquencourt", Motorway, 110.0),
    ("rocquencourt", "versailles", Motorway, 90.0),
    ("rocquencourt", "saint-germain", Expressway, 70.0),
    ("porte-saint-cloud", "pont-sevres", Street, 50.0),
    ("pont-saint-cloud", "pont-sevres", Street, 50.0),
    ("pont-sevres", "velizy", Expressway, 90.0),
    ("velizy", "saclay", Expressway, 110.0),
    ("velizy", "versailles", Expressway, 90.0),
    // North: A86, A15, A1, A3.
    ("colombes", "gennevilliers", Expressway, 90.0),
    ("porte-clichy", "gennevilliers", Street, 50.0),
    ("gennevilliers", "argenteuil", Motorway, 110.0),
    ("argenteuil", "cergy", Motorway, 110.0),
    ("gennevilliers", "saint-denis", Expressway, 90.0),
    ("porte-chapelle", "saint-denis", Motorway, 90.0),
    ("saint-denis", "le-bourget", Motorway, 110.0),
    ("le-bourget", "roissy", Motorway, 130.0),
    ("saint-denis", "la-courneuve", Expressway, 90.0),
    ("porte-aubervilliers", "la-courneuve", Street, 50.0),
    ("la-courneuve", "bobigny", Expressway, 90.0),
    ("porte-bagnolet", "bondy", Motorway, 110.0),
    ("bondy", "aulnay", Motorway, 110.0),
    ("aulnay", "roissy", Motorway, 130.0),
    ("bobigny", "rosny", Expressway, 90.0),
    ("porte-pantin", "bobigny", Street, 50.0),
    // East and south: A86, A4, A6, A10.
    ("rosny", "nogent", Expressway, 90.0),
    ("nogent", "joinville", Expressway, 90.0),
    ("porte-bercy", "charenton", Motorway, 90.0),
    ("charenton", "joinville", Motorway, 110.0),
    ("joinville", "noisy-le-grand", Motorway, 110.0),
    ("noisy-le-grand", "torcy", Motorway, 130.0),
    ("joinville", "creteil", Expressway, 90.0),
    ("creteil", "vitry", Expressway, 90.0),
    ("vitry", "chevilly", Expressway, 90.0),
    ("porte-ivry", "vitry", Street, 50.0),
    ("porte-italie", "kremlin-bicetre", Motorway, 90.0),
    ("porte-gentilly", "kremlin-bicetre", Motorway, 90.0),
    ("kremlin-bicetre", "chevilly", Motorway, 110.0),
    ("chevilly", "orly", Motorway, 110.0),
    ("chevilly", "wissous", Motorway, 110.0),
    ("wissous", "evry", Motorway, 130.0),
    ("wissous", "massy", Motorway, 110.0),
    ("chevilly", "antony", Expressway, 90.0),
    ("porte-orleans", "antony", Expressway, 70.0),
    ("antony", "velizy", Expressway, 90.0),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn id(network: &Network, name: &str) -> NodeId {
        network
            .node_named(name)
            .unwrap_or_else(|| panic!("no junction {name}"))
    }

    #[test]
    fn paris_tables_are_consistent() {
        let network = Network::from_tables(PARIS_NODES, PARIS_ROADS).unwrap();

        assert_eq!(network.edges().len(), PARIS_ROADS.len() * 2);
        assert!(
            network.node_count() >= 80,
            "{} junctions",
            network.node_count()
        );
        assert!(network.is_connected());
    }

    #[test]
    fn a_road_to_an_unknown_junction_is_refused() {
        let nodes: &[NodeRow] = &[("a", 48.0, 2.0, 0.0, NONE)];
        let roads: &[RoadRow] = &[("a", "b", Street, 50.0)];

        let error = Network::from_tables(nodes, roads).unwrap_err();

        assert_eq!(
            error,
            NetworkError::UnknownNode {
                from: "a",
                to: "b",
                missing: "b"
            }
        );
    }

    #[test]
    fn every_junction_is_near_paris_and_every_limit_is_plausible() {
        let network = Network::paris();
        let centre = (2.3522, 48.8566);

        for node in network.nodes() {
            let km = distance_m(centre, node.lon_lat()) / 1000.0;
            assert!(km < 35.0, "{} is {km:.1} km from the centre", node.name);
        }
        for edge in network.edges() {
            let limit = edge.speed_limit_kmh;
            assert!((50.0..=130.0).contains(&limit), "{edge:?}");
            assert!(
                edge.length_m > 200.0 && edge.length_m < 25_000.0,
                "{edge:?}"
            );
        }
    }

    #[test]
    fn the_peripherique_is_about_35_km_around() {
        let network = Network::paris();

        let ring_m: f64 = network
            .edges()
            .iter()
            .filter(|edge| edge.class == Ring)
            .map(|edge| edge.length_m)
            .sum::<f64>()
            / 2.0;

        assert!((30_000.0..40_000.0).contains(&ring_m), "{ring_m} m");
    }

    #[test]
    fn distances_and_bearings_match_known_values() {
        let etoile = (2.2950, 48.8738);
        let bastille = (2.3691, 48.8532);

        let km = distance_m(etoile, bastille) / 1000.0;
        let east = bearing_deg((2.0, 48.0), (2.1, 48.0));
        let north = bearing_deg((2.0, 48.0), (2.0, 48.1));

        assert!((5.5..6.0).contains(&km), "{km} km");
        assert!((east - 90.0).abs() < 0.1, "{east}");
        assert!(north.abs() < 0.1 || (north - 360.0).abs() < 0.1, "{north}");
    }

    #[test]
    fn routes_follow_edges_from_origin_to_destination() {
        let network = Network::paris();

        for from in network.node_ids().step_by(7) {
            for to in network.node_ids().step_by(5) {
                let route = network.route(from, to).unwrap();
                assert_eq!(route.origin(), from);
                assert_eq!(route.destination(), to);
                assert_eq!(route.nodes.len(), route.edges.len() + 1);
                for (i, &edge) in route.edges.iter().enumerate() {
                    assert_eq!(network.edge(edge).from, route.nodes[i]);
                    assert_eq!(network.edge(edge).to, route.nodes[i + 1]);
                }
                let summed: f64 = route.edges.iter().map(|&e| network.edge(e).length_m).sum();
                assert!((summed - route.length_m).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn routes_are_the_quickest_of_all_paths() {
        let network = Network::paris();
        let n = network.node_count();
        let mut best = vec![vec![f64::INFINITY; n]; n];
        for (i, row) in best.iter_mut().enumerate() {
            row[i] = 0.0;
        }
        for edge in network.edges() {
            let cell = &mut best[edge.from.index()][edge.to.index()];
            *cell = cell.min(edge.travel_time_s());
        }
        for k in 0..n {
            for i in 0..n {
                for j in 0..n {
                    let via = best[i][k] + best[k][j];
                    if via < best[i][j] {
                        best[i][j] = via;
                    }
                }
            }
        }

        for from in network.node_ids() {
            let times = network.travel_times_from(from);
            for (j, time) in times.iter().enumerate() {
                let expected = best[from.index()][j];
                assert!(
                    (time - expected).abs() < 1e-6,
                    "{from:?} -> {j}: {time} vs {expected}"
                );
            }
        }
    }

    #[test]
    fn a_long_trip_takes_the_motorway() {
        let network = Network::paris();

        let route = network
            .route(id(&network, "chatelet"), id(&network, "roissy"))
            .unwrap();
        let on_motorway: f64 = route
            .edges
            .iter()
            .map(|&e| network.edge(e))
            .filter(|edge| edge.class == Motorway)
            .map(|edge| edge.length_m)
            .sum();

        assert!(on_motorway > route.length_m * 0.6, "{route:?}");
        assert!(
            route.travel_time_s < 45.0 * 60.0,
            "{} s",
            route.travel_time_s
        );
    }

    #[test]
    fn the_route_to_a_service_ends_at_the_nearest_one() {
        let network = Network::paris();
        let from = id(&network, "chatelet");

        let route = network.route_to_nearest(from, |s| s.quick_charge).unwrap();
        let times = network.travel_times_from(from);
        let quickest = network
            .node_ids()
            .filter(|&n| network.node(n).services.quick_charge)
            .map(|n| times[n.index()])
            .fold(f64::INFINITY, f64::min);

        assert!(network.node(route.destination()).services.quick_charge);
        assert!((route.travel_time_s - quickest).abs() < 1e-6);
    }

    #[test]
    fn a_route_to_itself_is_empty() {
        let network = Network::paris();
        let here = id(&network, "opera");

        let route = network.route(here, here).unwrap();

        assert_eq!(route.nodes, vec![here]);
        assert!(route.edges.is_empty());
        assert_eq!(route.length_m, 0.0);
    }
}
