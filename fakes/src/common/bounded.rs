//! A map with a capacity: inserting past it evicts the oldest entry.

use std::{
    collections::{HashMap, VecDeque},
    hash::Hash,
};

/// Insertion-ordered map holding at most `capacity` entries.
#[derive(Debug)]
pub(crate) struct BoundedMap<K, V> {
    map: HashMap<K, V>,
    order: VecDeque<K>,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V> BoundedMap<K, V> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Inserts or replaces; a new key past capacity evicts the oldest key.
    pub(crate) fn insert(&mut self, key: K, value: V) {
        if !self.map.contains_key(&key) {
            while self.map.len() >= self.capacity {
                match self.order.pop_front() {
                    Some(old) => {
                        self.map.remove(&old);
                    }
                    None => break,
                }
            }
            self.order.push_back(key.clone());
        }
        self.map.insert(key, value);
    }

    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key)
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        let value = self.map.remove(key)?;
        self.order.retain(|k| k != key);
        Some(value)
    }

    /// Keeps only the entries `keep` approves.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        self.map.retain(|k, v| keep(k, v));
        let map = &self.map;
        self.order.retain(|k| map.contains_key(k));
    }

    /// Values in insertion order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.order.iter().filter_map(|k| self.map.get(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retain_drops_entries_and_their_order() {
        let mut m = BoundedMap::new(3);
        m.insert("a", 1);
        m.insert("b", 2);
        m.insert("c", 1);
        m.retain(|_, v| *v != 1);
        assert_eq!(m.values().collect::<Vec<_>>(), [&2]);
        m.insert("d", 4);
        m.insert("e", 5);
        m.insert("f", 6);
        assert_eq!(m.get(&"b"), None);
    }

    #[test]
    fn evicts_oldest_past_capacity() {
        let mut m = BoundedMap::new(2);
        m.insert("a", 1);
        m.insert("b", 2);
        m.insert("a", 3);
        m.insert("c", 4);
        assert_eq!(m.get(&"a"), None);
        assert_eq!(m.get(&"b"), Some(&2));
        assert_eq!(m.values().copied().collect::<Vec<_>>(), vec![2, 4]);
    }

    #[test]
    fn remove_keeps_order_bounded() {
        let mut m = BoundedMap::new(2);
        for i in 0..100 {
            m.insert(i, i);
            m.remove(&i);
        }
        assert!(m.map.is_empty());
        assert!(m.order.is_empty());
    }
}
