//! Verified fragments kept in memory, least recently used out first, bounded
//! by their total size in bytes.

use bytes::Bytes;
use fragfs::fragment::FragmentId;
use lru::LruCache;
use std::sync::Mutex;

pub struct FragmentCache {
    /// A std mutex: held for one map operation, never across `.await`.
    inner: Mutex<Inner>,
    capacity: usize,
}

struct Inner {
    map: LruCache<FragmentId, Bytes>,
    bytes: usize,
}

impl FragmentCache {
    pub fn new(capacity: usize) -> Self {
        FragmentCache {
            inner: Mutex::new(Inner {
                map: LruCache::unbounded(),
                bytes: 0,
            }),
            capacity,
        }
    }

    pub fn get(&self, id: &FragmentId) -> Option<Bytes> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .get(id)
            .cloned()
    }

    /// Whether `id` is held (without making it more recent).
    pub fn contains(&self, id: &FragmentId) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .contains(id)
    }

    /// Keeps `data` (already verified against `id`), dropping the least
    /// recently used fragments while over capacity. A fragment larger than
    /// the whole cache is not kept.
    pub fn insert(&self, id: FragmentId, data: Bytes) {
        if data.len() > self.capacity {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.bytes += data.len();
        if let Some(old) = inner.map.put(id, data) {
            inner.bytes -= old.len();
        }
        while inner.bytes > self.capacity {
            match inner.map.pop_lru() {
                Some((_, old)) => inner.bytes -= old.len(),
                None => break,
            }
        }
    }

    /// The most bytes it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fragfs::fragment::HashAlgo;

    fn frag(n: u8, len: usize) -> (FragmentId, Bytes) {
        let data = Bytes::from(vec![n; len]);
        (FragmentId::of(HashAlgo::Blake3, &data), data)
    }

    #[test]
    fn t10_stays_within_its_byte_bound_and_drops_the_least_recent() {
        let c = FragmentCache::new(100);
        let (a, da) = frag(1, 40);
        let (b, db) = frag(2, 40);
        let (x, dx) = frag(3, 40);
        c.insert(a, da.clone());
        c.insert(b, db);
        assert_eq!(c.get(&a), Some(da)); // a is now the most recent
        c.insert(x, dx);
        assert!(c.bytes() <= 100);
        assert!(c.get(&b).is_none(), "least recently used dropped");
        assert!(c.get(&a).is_some() && c.get(&x).is_some());
        let (big, dbig) = frag(4, 101);
        c.insert(big, dbig);
        assert!(c.get(&big).is_none(), "larger than the cache: not kept");
        assert_eq!(c.bytes(), 80);
    }
}
