//! Verified fragments kept in memory, least recently used out first, bounded
//! by the memory they take: each fragment is counted as its length plus
//! [`ENTRY_OVERHEAD`] (map node, key, handle, allocator headers), and kept
//! in an allocation of its own, exactly its length, so a fragment cut from a
//! larger buffer (a network frame, a write buffer with spare capacity) does
//! not keep that buffer alive.

use bytes::Bytes;
use fragfs::fragment::FragmentId;
use lru::LruCache;
use std::sync::Mutex;

/// What a cached fragment costs beyond its bytes: the LRU node (key,
/// `Bytes` handle, links), its hash-table slot and two allocator headers.
pub const ENTRY_OVERHEAD: usize = 192;

fn cost(data: &Bytes) -> usize {
    data.len() + ENTRY_OVERHEAD
}

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
        if cost(&data) > self.capacity {
            return;
        }
        // Copied outside the lock: an allocation of exactly its length.
        let data = Bytes::copy_from_slice(&data);
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.bytes += cost(&data);
        if let Some(old) = inner.map.put(id, data) {
            inner.bytes -= cost(&old);
        }
        while inner.bytes > self.capacity {
            match inner.map.pop_lru() {
                Some((_, old)) => inner.bytes -= cost(&old),
                None => break,
            }
        }
    }

    /// The most bytes it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Memory held now: fragment bytes plus [`ENTRY_OVERHEAD`] each.
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
        let c = FragmentCache::new(100 + 3 * ENTRY_OVERHEAD);
        let (a, da) = frag(1, 40);
        let (b, db) = frag(2, 40);
        let (x, dx) = frag(3, 40);
        c.insert(a, da.clone());
        c.insert(b, db);
        assert_eq!(c.get(&a), Some(da)); // a is now the most recent
        c.insert(x, dx);
        assert!(c.bytes() <= c.capacity());
        assert!(c.get(&b).is_none(), "least recently used dropped");
        assert!(c.get(&a).is_some() && c.get(&x).is_some());
        let (big, dbig) = frag(4, 101 + 2 * ENTRY_OVERHEAD);
        c.insert(big, dbig);
        assert!(c.get(&big).is_none(), "larger than the cache: not kept");
        assert_eq!(c.bytes(), 80 + 2 * ENTRY_OVERHEAD);
    }

    #[test]
    fn t40_tiny_fragments_are_counted_with_their_overhead() {
        let c = FragmentCache::new(1 << 20);
        for n in 0..100_000u32 {
            let data = Bytes::copy_from_slice(&n.to_le_bytes());
            c.insert(FragmentId::of(HashAlgo::Blake3, &data), data);
        }
        let held = c.inner.lock().unwrap().map.len();
        assert!(c.bytes() <= 1 << 20);
        assert_eq!(held, (1 << 20) / (4 + ENTRY_OVERHEAD), "entries kept");
    }

    #[test]
    fn t40_a_slice_does_not_keep_its_buffer() {
        let c = FragmentCache::new(1 << 20);
        let buffer = Bytes::from(vec![9u8; 256 * 1024]);
        let slice = buffer.slice(1000..1100);
        let id = FragmentId::of(HashAlgo::Blake3, &slice);
        c.insert(id, slice.clone());
        let kept = c.get(&id).expect("kept");
        assert_eq!(kept, slice);
        let inside = buffer.as_ptr_range();
        assert!(
            !inside.contains(&kept.as_ptr()),
            "a copy, not a view into the buffer"
        );
    }
}
