//! Idempotent creates: a client names its create with a key, and a retry
//! with the same key and the same content gets the first answer back.

use sha2::{Digest, Sha256};

use super::{Task, TaskDraft, Timestamp, ValidationError};

/// The most characters an `Idempotency-Key` may have.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

/// A client's name for one create: 1 to 255 visible ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        // White space around the value is not part of it (RFC 9110 §5.5);
        // inside, it is refused, as the spec's pattern says.
        let trimmed = raw.trim_matches([' ', '\t']);
        if trimmed.is_empty()
            || trimmed.len() > MAX_IDEMPOTENCY_KEY_CHARS
            || !trimmed.chars().all(|c| c.is_ascii_graphic())
        {
            return Err(ValidationError::IdempotencyKey);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The answer to a create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Created {
    New(Task),
    /// An earlier create with the same idempotency key and content made
    /// this task; nothing new was written.
    Replayed(Task),
}

/// A create made under an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotentCreate {
    pub key: IdempotencyKey,
    /// What the create asks for, so that reusing the key for something else
    /// can be told apart from a retry.
    pub fingerprint: String,
    /// Until when a retry is answered from the record; after that the key
    /// is free again.
    pub expires_at: Timestamp,
}

impl IdempotentCreate {
    pub fn new(key: IdempotencyKey, draft: &TaskDraft, expires_at: Timestamp) -> Self {
        Self {
            key,
            fingerprint: fingerprint(draft),
            expires_at,
        }
    }
}

/// SHA-256 over the validated content, so that two bodies that mean the
/// same task (white space around the title, the same instant in another
/// offset) are the same request.
fn fingerprint(draft: &TaskDraft) -> String {
    let mut hash = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(bytes);
    };
    field(draft.title.as_str().as_bytes());
    match &draft.description {
        Some(description) => field(&[&[1u8][..], description.as_str().as_bytes()].concat()),
        None => field(&[0]),
    }
    match draft.expiry_dt {
        Some(expiry) => field(&expiry.micros().to_be_bytes()),
        None => field(&[]),
    }
    // Added after the first three: a create without a priority keeps the
    // fingerprint it had before there were priorities.
    if let Some(priority) = draft.priority {
        field(&priority.get().to_be_bytes());
    }
    // Likewise for labels: a create without any keeps its fingerprint. The
    // tag (six bytes) cannot be read as a priority (eight).
    if !draft.labels.is_empty() {
        field(b"labels");
        for label in draft.labels.iter() {
            field(label.as_str().as_bytes());
        }
    }
    hex::encode(hash.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Description, Title};

    fn draft(title: &str, description: Option<&str>, expiry: Option<i64>) -> TaskDraft {
        TaskDraft {
            title: Title::parse(title).unwrap(),
            description: description.map(|d| Description::parse(d.into()).unwrap()),
            expiry_dt: expiry.map(|m| Timestamp::from_micros(m).unwrap()),
            priority: None,
            labels: crate::domain::Labels::default(),
        }
    }

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert!(IdempotencyKey::parse("4f1c-a9-retry").is_ok());
        assert_eq!(
            IdempotencyKey::parse(" \tk1 ").map(|key| key.as_str().to_owned()),
            Ok("k1".to_owned()),
            "white space around the value is not part of it"
        );
        for bad in ["", "   ", "schlüssel", "a\tb", "a b", &"k".repeat(256)] {
            assert_eq!(
                IdempotencyKey::parse(bad),
                Err(ValidationError::IdempotencyKey),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_same_content_has_the_same_fingerprint_and_other_content_another() {
        let key = || IdempotencyKey::parse("k").unwrap();
        let until = Timestamp::from_micros(100).unwrap();
        let a = IdempotentCreate::new(key(), &draft(" Pay ", None, Some(5)), until);
        let b = IdempotentCreate::new(key(), &draft("Pay", None, Some(5)), until);
        assert_eq!(a, b);
        for other in [
            draft("Pay", Some(""), Some(5)),
            draft("Pay", None, None),
            draft("Pay", None, Some(6)),
            draft("Pay!", None, Some(5)),
        ] {
            let other = IdempotentCreate::new(key(), &other, until);
            assert_ne!(a.fingerprint, other.fingerprint);
        }
        let urgent = TaskDraft {
            priority: crate::domain::Priority::parse(5).ok(),
            ..draft("Pay", None, Some(5))
        };
        assert_ne!(
            a.fingerprint,
            IdempotentCreate::new(key(), &urgent, until).fingerprint
        );
        let labelled = |raw: &[&str]| {
            let labels = raw
                .iter()
                .map(|raw| crate::domain::Label::parse(raw).unwrap());
            let draft = TaskDraft {
                labels: crate::domain::Labels::parse(labels).unwrap(),
                ..draft("Pay", None, Some(5))
            };
            IdempotentCreate::new(key(), &draft, until).fingerprint
        };
        assert_ne!(a.fingerprint, labelled(&["home"]));
        assert_ne!(labelled(&["home", "work"]), labelled(&["work", "home"]));
        assert_ne!(labelled(&["home"]), labelled(&["Home"]));
        assert_eq!(labelled(&["home", " HOME "]), labelled(&["home"]));
    }

    /// A key recorded before there were priorities still matches its retry:
    /// the value is the first three fields, length-prefixed, hashed.
    #[test]
    fn a_create_without_a_priority_keeps_the_fingerprint_it_had() {
        let created = IdempotentCreate::new(
            IdempotencyKey::parse("k").unwrap(),
            &draft("Pay", Some("rent"), Some(5)),
            Timestamp::from_micros(100).unwrap(),
        );
        assert_eq!(
            created.fingerprint,
            "e9b7bb31c3a967dd830c265a2ce25591ceea8e9e0df66c3189cad70b1372bd34"
        );
    }
}
