//! The task listing's order on the wire (`sort`, `order`), and what its
//! cursor remembers: the filters and order it was made under, and the
//! position past the page's last task.

use poem_openapi::Enum;

use super::paging::{self, Listing};
use crate::domain::{
    Label, Priority, SortDirection, TaskFilter, TaskOrder, TaskPosition, TaskSort, Timestamp,
};

/// What a task listing is ordered by.
#[derive(Enum, Debug, Default, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "TaskSort", rename_all = "snake_case")]
pub enum TaskSortParam {
    /// The task's id: the order tasks were created in.
    #[default]
    Id,
    /// The expiry; tasks without one come last, in both orders.
    ExpiryDt,
    /// The last change (the version).
    UpdateDt,
    /// The creation time.
    CreateDt,
    /// The priority; tasks without one come last, in both orders (so
    /// `order=desc` lists the most urgent first).
    Priority,
}

impl From<TaskSortParam> for TaskSort {
    fn from(sort: TaskSortParam) -> Self {
        match sort {
            TaskSortParam::Id => Self::Id,
            TaskSortParam::ExpiryDt => Self::ExpiryDt,
            TaskSortParam::UpdateDt => Self::UpdateDt,
            TaskSortParam::CreateDt => Self::CreateDt,
            TaskSortParam::Priority => Self::Priority,
        }
    }
}

/// Ascending or descending.
#[derive(Enum, Debug, Default, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "SortOrder", rename_all = "lowercase")]
pub enum SortOrderParam {
    #[default]
    Asc,
    Desc,
}

impl From<SortOrderParam> for SortDirection {
    fn from(order: SortOrderParam) -> Self {
        match order {
            SortOrderParam::Asc => Self::Asc,
            SortOrderParam::Desc => Self::Desc,
        }
    }
}

/// The digest a cursor is bound to. A listing by id ascending without a
/// status, priority or text filter keeps the digest (and so the cursors)
/// it always had, one without the priority and text filters the digest it
/// had before they came, and one without labels the one it had before
/// there were labels.
pub fn filter_key(filter: &TaskFilter, order: TaskOrder) -> String {
    let mut parts = vec![
        filter.expires_after.map(|t| t.to_string()),
        filter.expires_before.map(|t| t.to_string()),
    ];
    let more = filter.priority.is_some() || filter.search.is_some();
    if filter.status.is_some() || order != TaskOrder::default() || more {
        parts.push(filter.status.map(|status| status.as_str().to_owned()));
        parts.push(Some(format!(
            "{}.{}",
            order.sort.as_str(),
            order.direction.as_str()
        )));
    }
    if more {
        let bound = |bound: Option<Priority>| bound.map(|b| b.get().to_string());
        let priority = filter.priority;
        parts.push(priority.and_then(|range| bound(range.min)));
        parts.push(priority.and_then(|range| bound(range.max)));
        // The words, in any order, are the listing; they hold no space.
        parts.push(filter.search.as_ref().map(|query| {
            let mut words = query.words().to_vec();
            words.sort();
            words.join(" ")
        }));
    }
    if !filter.labels.is_empty() {
        // The keys, sorted: the same set in another order or case is the
        // same listing. As JSON, so that no key can run into the next.
        let mut keys: Vec<&str> = filter.labels.iter().map(Label::key).collect();
        keys.sort_unstable();
        keys.dedup();
        parts.push(Some(format!(
            "labels:{}",
            serde_json::to_string(&keys).unwrap_or_default()
        )));
    }
    paging::filter_key(&parts)
}

/// A key written where a task has none.
const NO_KEY: &str = "null";

/// The cursor for `position`: `<id>:<filters>` as before in the id order;
/// in another, the last task's key (`null` in the tail without one) and the
/// walk's `as_of`, in microseconds.
pub fn cursor(position: TaskPosition, filters: &str) -> String {
    let Some(as_of) = position.as_of else {
        return paging::encode(Listing::Tasks, position.id, filters);
    };
    let key = position
        .key
        .map_or_else(|| NO_KEY.to_owned(), |key| key.to_string());
    let more = [key, as_of.micros().to_string()];
    paging::encode_with(Listing::Tasks, position.id, filters, &more)
}

/// Reads a cursor's position back under `order`; `None` refuses it.
pub fn position(order: TaskOrder) -> impl FnOnce(i64, Vec<String>) -> Option<TaskPosition> {
    move |id, more| match (order.sort, more.as_slice()) {
        (TaskSort::Id, []) => Some(TaskPosition {
            id,
            key: None,
            as_of: None,
        }),
        (TaskSort::Id, _) => None,
        (sort, [key, as_of]) => {
            let key = match key.as_str() {
                NO_KEY => None,
                raw => Some(raw.parse().ok().filter(|key| sort.admits(*key))?),
            };
            let as_of = Timestamp::from_micros(as_of.parse().ok()?)?;
            Some(TaskPosition {
                id,
                key,
                as_of: Some(as_of),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TaskStatus;

    fn decoded(order: TaskOrder, cursor: &str, filters: &str) -> Option<TaskPosition> {
        let page = paging::page_request_at(
            Listing::Tasks,
            10,
            0,
            Some(cursor),
            false,
            filters,
            position(order),
        );
        match page.ok()?.start {
            crate::domain::PageStart::After(at) => Some(at),
            crate::domain::PageStart::Offset(_) => None,
        }
    }

    #[test]
    fn a_listing_by_id_keeps_the_cursors_it_always_had() {
        let order = TaskOrder::default();
        let filters = filter_key(&TaskFilter::default(), order);
        assert_eq!(filters, "");
        let at = TaskPosition {
            id: 42,
            key: None,
            as_of: None,
        };
        assert_eq!(cursor(at, &filters), "dDo0Mg");
        assert_eq!(decoded(order, "dDo0Mg", &filters), Some(at));
    }

    #[test]
    fn priority_bounds_and_words_each_make_their_own_digest() {
        let order = TaskOrder::default();
        let p = |raw| Priority::parse(raw).ok();
        let range = |min, max| crate::domain::PriorityRange::new(min, max).unwrap();
        let words = |raw| crate::domain::TextQuery::parse(raw).ok();
        let filters = [
            TaskFilter::default(),
            TaskFilter {
                priority: range(p(2), None),
                ..TaskFilter::default()
            },
            TaskFilter {
                priority: range(None, p(2)),
                ..TaskFilter::default()
            },
            TaskFilter {
                priority: range(p(2), p(4)),
                ..TaskFilter::default()
            },
            TaskFilter {
                search: words("pay rent"),
                ..TaskFilter::default()
            },
            TaskFilter {
                search: words("pay"),
                ..TaskFilter::default()
            },
        ];
        let digests: Vec<String> = filters.iter().map(|f| filter_key(f, order)).collect();
        for (at, digest) in digests.iter().enumerate() {
            assert_eq!(digests.iter().filter(|d| *d == digest).count(), 1, "{at}");
        }
        // The same words, however written: the same listing.
        let same = TaskFilter {
            search: words("RENT, pay!"),
            ..TaskFilter::default()
        };
        assert_eq!(filter_key(&same, order), digests[4]);
        let same = TaskFilter {
            search: words("Pay  RENT"),
            ..TaskFilter::default()
        };
        assert_eq!(filter_key(&same, order), digests[4]);
    }

    #[test]
    fn a_keyed_cursor_holds_its_key_and_walk_and_only_fits_its_own_order() {
        let as_of = Timestamp::from_micros(1_700_000_000_000_000);
        let by_expiry = TaskOrder {
            sort: TaskSort::ExpiryDt,
            direction: SortDirection::Desc,
        };
        let filter = TaskFilter {
            status: Some(TaskStatus::Open),
            ..TaskFilter::default()
        };
        let filters = filter_key(&filter, by_expiry);
        for key in [Some(1_800_000_000_000_000), Some(-5), None] {
            let at = TaskPosition { id: 7, key, as_of };
            let raw = cursor(at, &filters);
            assert_eq!(decoded(by_expiry, &raw, &filters), Some(at), "{key:?}");
            // Another order, direction or status: another digest.
            for (filter, order) in [
                (
                    filter.clone(),
                    TaskOrder {
                        direction: SortDirection::Asc,
                        ..by_expiry
                    },
                ),
                (
                    filter.clone(),
                    TaskOrder {
                        sort: TaskSort::UpdateDt,
                        ..by_expiry
                    },
                ),
                (TaskFilter::default(), by_expiry),
            ] {
                let other = filter_key(&filter, order);
                assert_ne!(other, filters);
                assert_eq!(decoded(order, &raw, &other), None);
            }
        }
        // A key no time can have, or none at all, is refused.
        let bad = paging::encode_with(
            Listing::Tasks,
            7,
            &filters,
            &[i64::MAX.to_string(), "0".into()],
        );
        assert_eq!(decoded(by_expiry, &bad, &filters), None);
        let short = paging::encode_with(Listing::Tasks, 7, &filters, &["5".into()]);
        assert_eq!(decoded(by_expiry, &short, &filters), None);
    }
}
