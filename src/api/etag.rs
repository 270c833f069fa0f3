//! Entity tags: a task's version (`update_dt` in microseconds) as a strong
//! ETag, and `If-Match` / `If-None-Match` read by RFC 9110's grammar.
//! (The `headers` crate accepts any text as a tag list, so that a garbled
//! precondition would silently match nothing; here it is an error.)

use crate::domain::{Precondition, Task};

pub fn etag(task: &Task) -> String {
    format!("\"{}\"", task.version())
}

/// What `If-Match` or `If-None-Match` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagList {
    /// `*`: any current version.
    Any,
    Tags(Vec<EntityTag>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityTag {
    pub weak: bool,
    pub opaque: String,
}

/// What a valid header looks like, for the error message.
pub const EXPECTED: &str = "must be `*` or a comma-separated list of quoted entity tags \
     as the ETag header gives them, e.g. \"1795846765738920\"";

/// `"*" / 1#entity-tag`, `entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE`,
/// `etagc = %x21 / %x23-7E` (obs-text is refused: no tag of ours has it).
pub fn parse_tag_list(raw: &[u8]) -> Option<TagList> {
    if raw
        .iter()
        .any(|&b| !(b == b' ' || b == b'\t' || (0x21..=0x7e).contains(&b)))
    {
        return None;
    }
    let text = std::str::from_utf8(raw).ok()?.trim_matches([' ', '\t']);
    if text == "*" {
        return Some(TagList::Any);
    }
    // Exactly the declared pattern: no empty list elements (`"a",,"b"`),
    // no leading or trailing comma.
    let mut tags = Vec::new();
    let mut rest = text;
    loop {
        let (weak, after) = match rest.strip_prefix("W/") {
            Some(after) => (true, after),
            None => (false, rest),
        };
        let quoted = after.strip_prefix('"')?;
        let end = quoted.find('"')?;
        tags.push(EntityTag {
            weak,
            opaque: quoted[..end].to_owned(),
        });
        rest = quoted[end + 1..].trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            break;
        }
        rest = rest.strip_prefix(',')?.trim_start_matches([' ', '\t']);
    }
    (!tags.is_empty()).then_some(TagList::Tags(tags))
}

/// `If-Match`, compared strongly: a weak tag matches nothing.
pub fn precondition(list: Option<TagList>) -> Precondition {
    match list {
        None | Some(TagList::Any) => Precondition::Any,
        Some(TagList::Tags(tags)) => Precondition::OneOf(
            tags.iter()
                .filter(|tag| !tag.weak)
                .filter_map(|tag| tag.opaque.parse().ok())
                .collect(),
        ),
    }
}

/// `If-None-Match`, compared weakly: true when the client's copy is current.
pub fn none_match(list: Option<&TagList>, task: &Task) -> bool {
    match list {
        None => false,
        Some(TagList::Any) => true,
        Some(TagList::Tags(tags)) => {
            let current = task.version().to_string();
            tags.iter().any(|tag| tag.opaque == current)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{TaskId, TaskStatus, Timestamp, Title};

    fn task(version: i64) -> Task {
        let at = Timestamp::from_micros(version);
        Task {
            id: TaskId::from_db(1),
            title: Title::parse("t").unwrap(),
            description: None,
            expiry_dt: None,
            create_dt: at,
            update_dt: at,
            status: TaskStatus::Open,
            completed_dt: None,
            priority: None,
            labels: crate::domain::Labels::default(),
        }
    }

    fn list(raw: &str) -> Option<TagList> {
        parse_tag_list(raw.as_bytes())
    }

    #[test]
    fn well_formed_lists_are_read() {
        assert_eq!(list(" * "), Some(TagList::Any));
        let tags = list(r#""4", W/"5" ,"a,b""#).unwrap();
        assert_eq!(
            tags,
            TagList::Tags(vec![
                EntityTag {
                    weak: false,
                    opaque: "4".into()
                },
                EntityTag {
                    weak: true,
                    opaque: "5".into()
                },
                EntityTag {
                    weak: false,
                    opaque: "a,b".into()
                },
            ])
        );
    }

    #[test]
    fn malformed_lists_are_refused() {
        for raw in [
            "",
            "  ",
            "1795846765738920",
            "\"5",
            "\"5\" x",
            "W/5",
            ",",
            "*, \"5\"",
            "\"4\",,\"5\"",
            ",\"4\"",
            "\"4\",",
        ] {
            assert_eq!(list(raw), None, "{raw:?}");
        }
        assert_eq!(parse_tag_list(b"\"caf\xe9\""), None);
        assert_eq!(parse_tag_list(b"\"a\x01\""), None);
    }

    #[test]
    fn if_match_compares_strongly() {
        assert!(precondition(None).holds_for(&task(5)));
        assert!(precondition(list("*")).holds_for(&task(5)));
        assert!(precondition(list(r#""4", "5""#)).holds_for(&task(5)));
        assert!(!precondition(list(r#""4""#)).holds_for(&task(5)));
        assert!(!precondition(list(r#"W/"5""#)).holds_for(&task(5)));
        assert!(!precondition(list(r#""garbage""#)).holds_for(&task(5)));
    }

    #[test]
    fn if_none_match_compares_weakly() {
        assert!(none_match(list(r#""5""#).as_ref(), &task(5)));
        assert!(none_match(list(r#"W/"5""#).as_ref(), &task(5)));
        assert!(none_match(list("*").as_ref(), &task(5)));
        assert!(!none_match(list(r#""4""#).as_ref(), &task(5)));
        assert!(!none_match(None, &task(5)));
        assert_eq!(etag(&task(5)), "\"5\"");
    }
}
