//! Process-wide sharing of what routes have in common (a credential cache per source, a pooled
//! client per connection settings), without keeping it alive for routes that are gone. The
//! registry holds only weak references: a cache or pool lives while some route table (a
//! `Proxy`, including one still finishing requests after a config change) holds it, and is
//! dropped with the last one, so a route removed by a reload releases its credentials and
//! closes its idle connections.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, Weak};

pub struct Registry<K, V> {
    entries: Mutex<HashMap<K, Weak<V>>>,
}

impl<K: Eq + Hash, V> Registry<K, V> {
    pub fn new() -> Self {
        Self { entries: Mutex::new(HashMap::new()) }
    }

    /// The live value for `key`, or a new one from `make`, shared from then on.
    pub fn get_or_try_insert<E>(&self, key: K, make: impl FnOnce() -> Result<V, E>) -> Result<Arc<V>, E> {
        let mut entries = self.entries.lock().unwrap();
        if let Some(live) = entries.get(&key).and_then(Weak::upgrade) {
            return Ok(live);
        }
        entries.retain(|_, value| value.strong_count() > 0);
        let value = Arc::new(make()?);
        entries.insert(key, Arc::downgrade(&value));
        Ok(value)
    }

    /// The live value for `key`, or a new one from `make`.
    pub fn get_or_insert_with(&self, key: K, make: impl FnOnce() -> V) -> Arc<V> {
        match self.get_or_try_insert(key, || Ok::<_, std::convert::Infallible>(make())) {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    /// How many values are alive now.
    pub fn live(&self) -> usize {
        self.entries.lock().unwrap().values().filter(|value| value.strong_count() > 0).count()
    }
}

impl<K: Eq + Hash, V> Default for Registry<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_while_held_and_lets_go_after() {
        let registry: Registry<&str, String> = Registry::new();
        let make = || Ok::<_, ()>("value".to_string());
        let first = registry.get_or_try_insert("a", make).unwrap();
        let second =
            registry.get_or_try_insert("a", || -> Result<String, ()> { panic!("not made twice") }).unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(registry.live(), 1);
        drop((first, second));
        assert_eq!(registry.live(), 0);
        let _b = registry.get_or_try_insert("b", make).unwrap();
        assert_eq!(registry.entries.lock().unwrap().len(), 1, "dead entries are pruned");
    }
}
