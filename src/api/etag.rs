//! Entity tags: a task's version (`update_dt` in microseconds) as a strong
//! ETag, and the `If-Match` / `If-None-Match` checks against it.

use crate::domain::{Precondition, Task, Timestamp};

pub fn etag(task: &Task) -> String {
    format!("\"{}\"", task.update_dt.micros())
}

/// `If-Match`, compared strongly: a weak or unreadable tag matches nothing.
pub fn if_match(header: Option<&str>) -> Precondition {
    let Some(header) = header else {
        return Precondition::Any;
    };
    if header.trim() == "*" {
        return Precondition::Any;
    }
    Precondition::OneOf(
        header
            .split(',')
            .filter_map(|tag| {
                tag.trim()
                    .strip_prefix('"')?
                    .strip_suffix('"')?
                    .parse()
                    .ok()
            })
            .filter_map(Timestamp::from_micros)
            .collect(),
    )
}

/// `If-None-Match`, compared weakly: true when the client's copy is current.
pub fn none_match(header: Option<&str>, task: &Task) -> bool {
    let Some(header) = header else {
        return false;
    };
    let current = etag(task);
    header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{TaskId, Title};

    fn task(version: i64) -> Task {
        let at = Timestamp::from_micros(version).unwrap();
        Task {
            id: TaskId::from_db(1),
            title: Title::parse("t").unwrap(),
            description: None,
            expiry_dt: None,
            create_dt: at,
            update_dt: at,
        }
    }

    #[test]
    fn if_match_accepts_star_and_lists_of_strong_tags() {
        assert!(if_match(None).holds_for(&task(5)));
        assert!(if_match(Some("*")).holds_for(&task(5)));
        assert!(if_match(Some("\"4\", \"5\"")).holds_for(&task(5)));
        assert!(!if_match(Some("\"4\"")).holds_for(&task(5)));
        assert!(!if_match(Some("W/\"5\"")).holds_for(&task(5)));
        assert!(!if_match(Some("garbage")).holds_for(&task(5)));
    }

    #[test]
    fn if_none_match_compares_weakly() {
        assert!(none_match(Some("\"5\""), &task(5)));
        assert!(none_match(Some("W/\"5\""), &task(5)));
        assert!(none_match(Some("*"), &task(5)));
        assert!(!none_match(Some("\"4\""), &task(5)));
        assert!(!none_match(None, &task(5)));
        assert_eq!(etag(&task(5)), "\"5\"");
    }
}
