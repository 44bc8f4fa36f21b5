//! A bounded map of values read recently, each trusted for a fixed time: the gateway's
//! authentication decisions, verified passwords, the fleets and vehicles that paths name,
//! and the sizes of fleet-wide collections. Nothing in it is the only copy of anything; an
//! expired or evicted entry is read again from the database.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Values trusted for `ttl` after they were read, at most `capacity` of them.
pub struct Recent<K, V> {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<K, (V, Instant)>>,
}

impl<K: Eq + Hash, V: Clone> Recent<K, V> {
    /// An empty map whose entries expire after `ttl`.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value of `key`, unless it is absent or expired.
    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.lock();
        let (value, at) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| value.clone())
    }

    /// The value of `key` even if it expired (until it is evicted), and whether this caller
    /// is the one to read it again: an expired value is trusted anew for everyone else as it
    /// is handed out, so that one caller refreshes it while the others keep using it.
    pub fn get_or_renew(&self, key: &K) -> Option<(V, bool)> {
        let mut entries = self.entries.lock();
        let (value, at) = entries.get_mut(key)?;
        let renew = at.elapsed() >= self.ttl;
        if renew {
            *at = Instant::now();
        }
        Some((value.clone(), renew))
    }

    /// Remembers `value` for `key` from now on. When full, the expired entries go; when
    /// still full, all of them.
    pub fn insert(&self, key: K, value: V) {
        let mut entries = self.entries.lock();
        if entries.len() >= self.capacity {
            let ttl = self.ttl;
            entries.retain(|_, (_, at)| at.elapsed() < ttl);
        }
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(key, (value, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_a_full_map_makes_room() {
        let recent = Recent::new(Duration::from_millis(50), 2);
        recent.insert(1, "one");
        recent.insert(2, "two");
        assert_eq!(recent.get(&1), Some("one"));

        recent.insert(3, "three");
        assert_eq!(recent.get(&3), Some("three"));
        assert_eq!(
            recent.get(&1),
            None,
            "nothing had expired: the full map was emptied"
        );

        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(recent.get(&3), None);
        assert_eq!(
            recent.get_or_renew(&3),
            Some(("three", true)),
            "expired, not forgotten: this caller reads it again"
        );
        assert_eq!(recent.get_or_renew(&3), Some(("three", false)));
        assert_eq!(recent.get(&3), Some("three"), "trusted anew meanwhile");
        assert_eq!(recent.get_or_renew(&1), None);
    }
}
