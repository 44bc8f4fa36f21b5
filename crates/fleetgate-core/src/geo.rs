//! Geometry on the Earth's surface, for trips and waypoints: the great-circle distance
//! between two positions (haversine formula, on a spherical Earth) and the simplification
//! of a polyline (Douglas-Peucker) with a tolerance expressed in kilometres.
//!
//! A sphere of the mean Earth radius is accurate to about 0.5 %, which is well below what
//! vehicle positions need.

/// The mean radius of the Earth (IUGG), in km.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A WGS 84 position, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Longitude, degrees east.
    pub lon: f64,
    /// Latitude, degrees north.
    pub lat: f64,
}

impl Point {
    /// The point at longitude `lon` and latitude `lat`, in degrees.
    pub fn new(lon: f64, lat: f64) -> Self {
        Self { lon, lat }
    }
}

/// The great-circle distance between `a` and `b`, in km (haversine formula).
pub fn distance_km(a: Point, b: Point) -> f64 {
    central_angle(a, b) * EARTH_RADIUS_KM
}

/// The points of `points` that Douglas-Peucker keeps with a tolerance of `tolerance_km`:
/// the first and last points always, and every point that lies farther than the
/// tolerance from the simplified line.
pub fn simplify(points: &[Point], tolerance_km: f64) -> Vec<Point> {
    simplify_indices(points, tolerance_km)
        .into_iter()
        .map(|index| points[index])
        .collect()
}

/// Like [`simplify`], but returns the indices of the points kept, in increasing order, so
/// that a caller can keep whatever it attached to each point (a time, a speed...).
///
/// A tolerance that is not a number is taken as zero (only points exactly on the line are
/// dropped).
pub fn simplify_indices(points: &[Point], tolerance_km: f64) -> Vec<usize> {
    if points.len() <= 2 {
        return (0..points.len()).collect();
    }
    let tolerance = if tolerance_km.is_nan() {
        0.0
    } else {
        tolerance_km
    };

    let last = points.len() - 1;
    let mut kept = vec![false; points.len()];
    kept[0] = true;
    kept[last] = true;

    let mut pending = vec![(0, last)];
    while let Some((first, last)) = pending.pop() {
        let Some((farthest, deviation)) = farthest_from_chord(points, first, last) else {
            continue;
        };
        if deviation > tolerance {
            kept[farthest] = true;
            pending.push((first, farthest));
            pending.push((farthest, last));
        }
    }

    (0..points.len()).filter(|&index| kept[index]).collect()
}

/// The point strictly between `first` and `last` farthest from the segment joining them,
/// and its distance in km; none when there is no point in between.
fn farthest_from_chord(points: &[Point], first: usize, last: usize) -> Option<(usize, f64)> {
    let (start, end) = (points[first], points[last]);
    (first + 1..last)
        .map(|index| (index, distance_to_segment_km(points[index], start, end)))
        .fold(None, |best, candidate| match best {
            Some((_, distance)) if distance >= candidate.1 => best,
            _ => Some(candidate),
        })
}

/// The distance from `point` to the great-circle segment from `start` to `end`, in km.
fn distance_to_segment_km(point: Point, start: Point, end: Point) -> f64 {
    let segment = central_angle(start, end);
    let to_point = central_angle(start, point);
    if segment == 0.0 || to_point == 0.0 {
        return to_point * EARTH_RADIUS_KM;
    }

    let turn = bearing(start, point) - bearing(start, end);
    if turn.cos() < 0.0 {
        return to_point * EARTH_RADIUS_KM;
    }

    let cross_track = (to_point.sin() * turn.sin()).clamp(-1.0, 1.0).asin();
    let along_track = (to_point.cos() / cross_track.cos()).clamp(-1.0, 1.0).acos();
    if along_track > segment {
        return distance_km(point, end);
    }
    cross_track.abs() * EARTH_RADIUS_KM
}

/// The angle between `a` and `b` seen from the Earth's centre, in radians (haversine).
fn central_angle(a: Point, b: Point) -> f64 {
    let (lat_a, lat_b) = (a.lat.to_radians(), b.lat.to_radians());
    let half_dlat = (lat_b - lat_a) / 2.0;
    let half_dlon = (b.lon - a.lon).to_radians() / 2.0;

    let haversine = half_dlat.sin().powi(2) + lat_a.cos() * lat_b.cos() * half_dlon.sin().powi(2);
    2.0 * haversine.sqrt().min(1.0).asin()
}

/// The initial bearing from `from` to `to`, in radians clockwise from north.
fn bearing(from: Point, to: Point) -> f64 {
    let (lat_from, lat_to) = (from.lat.to_radians(), to.lat.to_radians());
    let dlon = (to.lon - from.lon).to_radians();

    let y = dlon.sin() * lat_to.cos();
    let x = lat_from.cos() * lat_to.sin() - lat_from.sin() * lat_to.cos() * dlon.cos();
    y.atan2(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close_to(actual: f64, expected: f64, margin: f64) -> bool {
        (actual - expected).abs() <= margin
    }

    #[test]
    fn one_degree_of_meridian_is_about_111_km() {
        let distance = distance_km(Point::new(2.0, 45.0), Point::new(2.0, 46.0));

        assert!(close_to(distance, 111.195, 0.001), "{distance}");
    }

    #[test]
    fn a_degree_of_longitude_shrinks_with_the_cosine_of_the_latitude() {
        let at_equator = distance_km(Point::new(0.0, 0.0), Point::new(1.0, 0.0));
        let at_sixty = distance_km(Point::new(0.0, 60.0), Point::new(1.0, 60.0));

        assert!(close_to(at_equator, 111.195, 0.001), "{at_equator}");
        assert!(close_to(at_sixty, 55.596, 0.01), "{at_sixty}");
    }

    #[test]
    fn paris_to_london_is_about_344_km() {
        let paris = Point::new(2.3522, 48.8566);
        let london = Point::new(-0.1278, 51.5074);

        let there = distance_km(paris, london);
        let back = distance_km(london, paris);

        assert!(close_to(there, 343.6, 0.5), "{there}");
        assert_eq!(there, back);
    }

    #[test]
    fn same_point_is_zero_and_antipodes_are_half_the_circumference() {
        let point = Point::new(7.25, 43.7);
        let antipode = Point::new(7.25 - 180.0, -43.7);

        assert_eq!(distance_km(point, point), 0.0);
        let half = distance_km(point, antipode);
        assert!(
            close_to(half, std::f64::consts::PI * EARTH_RADIUS_KM, 1e-6),
            "{half}"
        );
    }

    #[test]
    fn short_lists_are_kept_as_they_are() {
        let two = [Point::new(0.0, 0.0), Point::new(1.0, 1.0)];

        assert_eq!(simplify_indices(&[], 1.0), Vec::<usize>::new());
        assert_eq!(simplify_indices(&two[..1], 1.0), vec![0]);
        assert_eq!(simplify(&two, 1000.0), two.to_vec());
    }

    #[test]
    fn points_on_a_straight_line_are_dropped() {
        let line: Vec<Point> = (0..=10)
            .map(|i| Point::new(f64::from(i) * 0.01, 0.0))
            .collect();

        assert_eq!(simplify_indices(&line, 0.001), vec![0, 10]);
    }

    #[test]
    fn a_detour_beyond_the_tolerance_is_kept() {
        // Up to 0.56 km north of the equator, half-way along a 2.2 km segment.
        let path = [
            Point::new(0.0, 0.0),
            Point::new(0.005, 0.0025),
            Point::new(0.01, 0.005),
            Point::new(0.015, 0.0025),
            Point::new(0.02, 0.0),
        ];

        assert_eq!(simplify_indices(&path, 0.1), vec![0, 2, 4]);
        assert_eq!(simplify_indices(&path, 1.0), vec![0, 4]);
        assert_eq!(simplify(&path, 0.1), vec![path[0], path[2], path[4]]);
    }

    #[test]
    fn the_deviation_is_measured_in_km() {
        let path = [
            Point::new(0.0, 0.0),
            Point::new(0.5, 0.0045),
            Point::new(1.0, 0.0),
        ];
        let deviation = distance_to_segment_km(path[1], path[0], path[2]);

        assert!(close_to(deviation, 0.5, 0.001), "{deviation}");
        assert_eq!(simplify_indices(&path, 0.49), vec![0, 1, 2]);
        assert_eq!(simplify_indices(&path, 0.51), vec![0, 2]);
    }

    #[test]
    fn a_point_beyond_the_ends_is_measured_to_the_nearest_end() {
        let (start, end) = (Point::new(0.0, 0.0), Point::new(1.0, 0.0));
        let behind = Point::new(-1.0, 0.0);
        let past = Point::new(2.0, 0.5);

        assert!(close_to(
            distance_to_segment_km(behind, start, end),
            111.195,
            0.001
        ));
        let to_end = distance_km(past, end);
        assert_eq!(distance_to_segment_km(past, start, end), to_end);
    }

    #[test]
    fn a_loop_back_to_the_start_keeps_its_far_point() {
        let round_trip = [
            Point::new(0.0, 0.0),
            Point::new(0.05, 0.0),
            Point::new(0.1, 0.0),
            Point::new(0.05, 0.0001),
            Point::new(0.0, 0.0),
        ];

        assert_eq!(simplify_indices(&round_trip, 0.1), vec![0, 2, 4]);
    }
}
