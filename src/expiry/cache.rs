//! [`ExpiryCache`]: which tasks expire when, in memory, with no I/O.

use std::collections::{BTreeSet, HashMap};

use crate::domain::{PendingExpiry, TaskId, Timestamp};

/// The latest known expiry of a task, and the `update_dt` it came with, so
/// that a late-arriving older snapshot cannot overwrite a newer one.
#[derive(Clone, Copy, Debug)]
struct Snapshot {
    expiry_micros: i64,
    version_micros: i64,
}

/// Pending expiries: a map id → latest snapshot, and the set of
/// (expiry, id) ordered by expiry. Add, update and remove are O(log n);
/// taking the k due entries is O(k log n); asking whether anything is due is
/// O(1), because the earliest entry is kept aside.
#[derive(Debug, Default)]
pub struct ExpiryCache {
    by_id: HashMap<i64, Snapshot>,
    by_expiry: BTreeSet<(i64, i64)>,
    earliest: Option<(i64, i64)>,
}

impl ExpiryCache {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Records a task's expiry as of `version` (its `update_dt`, `None`
    /// when unreadable: older than any); `None` removes it. A snapshot
    /// older than the one held is ignored.
    pub fn upsert(
        &mut self,
        task_id: TaskId,
        expiry_dt: Option<Timestamp>,
        version: Option<Timestamp>,
    ) {
        let id = task_id.get();
        let version_micros = version.map_or(i64::MIN, Timestamp::micros);
        if let Some(held) = self.by_id.get(&id) {
            if held.version_micros > version_micros {
                return;
            }
            self.by_expiry.remove(&(held.expiry_micros, id));
        }
        match expiry_dt {
            Some(expiry) => {
                let expiry_micros = expiry.micros();
                self.by_id.insert(
                    id,
                    Snapshot {
                        expiry_micros,
                        version_micros,
                    },
                );
                self.by_expiry.insert((expiry_micros, id));
            }
            None => {
                self.by_id.remove(&id);
            }
        }
        self.refresh_earliest();
    }

    pub fn remove(&mut self, task_id: TaskId) {
        let id = task_id.get();
        if let Some(held) = self.by_id.remove(&id) {
            self.by_expiry.remove(&(held.expiry_micros, id));
            self.refresh_earliest();
        }
    }

    pub fn clear(&mut self) {
        self.by_id.clear();
        self.by_expiry.clear();
        self.earliest = None;
    }

    /// The earliest pending expiry, in O(1).
    pub fn earliest(&self) -> Option<Timestamp> {
        self.earliest
            .and_then(|(micros, _)| Timestamp::from_micros(micros))
    }

    /// Removes and returns, earliest first, every entry expiring at or
    /// before `until`.
    pub fn take_due(&mut self, until: Timestamp) -> Vec<PendingExpiry> {
        let until = until.micros();
        if self.earliest.is_none_or(|(micros, _)| micros > until) {
            return Vec::new();
        }
        let mut due = Vec::new();
        while let Some(&(expiry_micros, id)) = self.by_expiry.first() {
            if expiry_micros > until {
                break;
            }
            self.by_expiry.pop_first();
            let version_micros = self
                .by_id
                .remove(&id)
                .map_or(i64::MIN, |held| held.version_micros);
            if let Some(expiry_dt) = Timestamp::from_micros(expiry_micros) {
                due.push(PendingExpiry {
                    task_id: TaskId::from_db(id),
                    expiry_dt,
                    version: Timestamp::from_micros(version_micros),
                });
            }
        }
        self.refresh_earliest();
        due
    }

    fn refresh_earliest(&mut self) {
        self.earliest = self.by_expiry.first().copied();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_micros(secs * 1_000_000).unwrap()
    }

    fn id(raw: i64) -> TaskId {
        TaskId::from_db(raw)
    }

    fn ids(due: &[PendingExpiry]) -> Vec<i64> {
        due.iter().map(|d| d.task_id.get()).collect()
    }

    #[test]
    fn due_entries_come_out_earliest_first() {
        let mut cache = ExpiryCache::new();
        cache.upsert(id(1), Some(at(30)), Some(at(0)));
        cache.upsert(id(2), Some(at(10)), Some(at(0)));
        cache.upsert(id(3), Some(at(20)), Some(at(0)));
        assert_eq!(cache.earliest(), Some(at(10)));
        assert_eq!(ids(&cache.take_due(at(25))), vec![2, 3]);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.earliest(), Some(at(30)));
    }

    #[test]
    fn nothing_is_taken_before_it_is_due() {
        let mut cache = ExpiryCache::new();
        cache.upsert(id(1), Some(at(10)), Some(at(0)));
        assert!(cache.take_due(at(9)).is_empty());
        assert_eq!(ids(&cache.take_due(at(10))), vec![1]);
        assert!(cache.is_empty());
        assert_eq!(cache.earliest(), None);
    }

    #[test]
    fn an_update_moves_the_entry() {
        let mut cache = ExpiryCache::new();
        cache.upsert(id(1), Some(at(10)), Some(at(0)));
        cache.upsert(id(1), Some(at(50)), Some(at(1)));
        assert!(cache.take_due(at(20)).is_empty());
        let due = cache.take_due(at(50));
        assert_eq!(
            due,
            vec![PendingExpiry {
                task_id: id(1),
                expiry_dt: at(50),
                version: Some(at(1)),
            }]
        );
    }

    #[test]
    fn many_updates_of_one_task_leave_one_entry() {
        let mut cache = ExpiryCache::new();
        for i in 0..1000 {
            cache.upsert(id(7), Some(at(1000 - i)), Some(at(i)));
        }
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.by_expiry.len(), 1);
        assert_eq!(ids(&cache.take_due(at(10_000))), vec![7]);
    }

    #[test]
    fn an_older_snapshot_does_not_overwrite_a_newer_one() {
        let mut cache = ExpiryCache::new();
        cache.upsert(id(1), Some(at(50)), Some(at(5)));
        cache.upsert(id(1), Some(at(10)), Some(at(4)));
        assert!(cache.take_due(at(20)).is_empty());
        assert_eq!(cache.earliest(), Some(at(50)));
    }

    #[test]
    fn clearing_the_expiry_or_removing_disarms() {
        let mut cache = ExpiryCache::new();
        cache.upsert(id(1), Some(at(10)), Some(at(0)));
        cache.upsert(id(2), Some(at(10)), Some(at(0)));
        cache.upsert(id(1), None, Some(at(1)));
        cache.remove(id(2));
        cache.remove(id(3));
        assert!(cache.is_empty());
        assert!(cache.take_due(at(100)).is_empty());
    }

    #[test]
    fn equal_expiries_are_all_kept_and_ordered_by_id() {
        let mut cache = ExpiryCache::new();
        for raw in [5, 3, 9, 1] {
            cache.upsert(id(raw), Some(at(10)), Some(at(0)));
        }
        assert_eq!(ids(&cache.take_due(at(10))), vec![1, 3, 5, 9]);
    }

    #[test]
    fn clear_empties_everything() {
        let mut cache = ExpiryCache::new();
        cache.upsert(id(1), Some(at(10)), Some(at(0)));
        cache.clear();
        assert!(cache.is_empty());
        assert_eq!(cache.earliest(), None);
        assert!(cache.take_due(at(100)).is_empty());
    }
}
