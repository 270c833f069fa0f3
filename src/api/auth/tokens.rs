//! The tokens a server accepts: `API_TOKEN` (full access) and the named,
//! scoped tokens of `API_TOKENS_FILE`, which can be replaced while the
//! server runs (see [`Tokens::replace`]).
//!
//! The file has one token per line, `NAME SCOPES TOKEN`, e.g.
//! `ci-bot read,write 3f9c…`; `#` starts a comment line. Scopes are `read`
//! (GET and HEAD under `/v1`, the stream included), `write` (every other
//! method under `/v1`), `metrics` (`/metrics`), or `all`.

use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a request needs its token to allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Read,
    Write,
    Metrics,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Metrics => "metrics",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scopes {
    read: bool,
    write: bool,
    metrics: bool,
}

impl Scopes {
    pub const ALL: Self = Self {
        read: true,
        write: true,
        metrics: true,
    };

    pub fn allows(self, scope: Scope) -> bool {
        match scope {
            Scope::Read => self.read,
            Scope::Write => self.write,
            Scope::Metrics => self.metrics,
        }
    }

    fn parse(raw: &str) -> Result<Self, String> {
        let mut scopes = Self::default();
        for scope in raw.split(',') {
            match scope {
                "read" => scopes.read = true,
                "write" => scopes.write = true,
                "metrics" => scopes.metrics = true,
                "all" => scopes = Self::ALL,
                other => {
                    return Err(format!(
                        "unknown scope {other:?} (scopes are read, write, metrics, all, comma-separated)"
                    ));
                }
            }
        }
        Ok(scopes)
    }
}

/// A token that was accepted: its name (for the access log) and scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenName(pub Arc<str>);

struct Entry {
    name: TokenName,
    scopes: Scopes,
    /// Only the SHA-256 is kept, so that comparing takes the same time
    /// whatever the guess.
    digest: [u8; 32],
}

/// The name `API_TOKEN`'s token has in the access log.
pub const API_TOKEN_NAME: &str = "API_TOKEN";

/// One complete set of accepted tokens.
#[derive(Default)]
pub struct TokenSet {
    entries: Vec<Entry>,
}

#[derive(Debug, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct TokenFileError {
    pub line: usize,
    pub reason: String,
}

impl TokenSet {
    /// The tokens of an `API_TOKENS_FILE`; every line must be right, or none
    /// is taken.
    pub fn parse(text: &str) -> Result<Self, TokenFileError> {
        let mut set = Self::default();
        for (index, line) in text.lines().enumerate() {
            let line_number = index + 1;
            let fail = |reason: String| TokenFileError {
                line: line_number,
                reason,
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [name, scopes, token] = fields[..] else {
                return Err(fail(
                    "expected `NAME SCOPES TOKEN` (the token itself is not shown)".to_owned(),
                ));
            };
            let name_ok = name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !name_ok {
                return Err(fail(format!(
                    "the name {name:?} must be 1 to 64 letters, digits, `-`, `_` or `.`"
                )));
            }
            let scopes = Scopes::parse(scopes).map_err(fail)?;
            if token.len() < 16 {
                return Err(fail(format!(
                    "the token of {name:?} is shorter than 16 characters"
                )));
            }
            set.add(name, scopes, token).map_err(fail)?;
        }
        Ok(set)
    }

    /// Adds a token; its name and value must be new.
    pub fn add(&mut self, name: &str, scopes: Scopes, token: &str) -> Result<(), String> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if self.entries.iter().any(|entry| &*entry.name.0 == name) {
            return Err(format!("the name {name:?} is used twice"));
        }
        if self.find(&digest).is_some() {
            return Err(format!("the token of {name:?} is also another name's"));
        }
        self.entries.push(Entry {
            name: TokenName(name.into()),
            scopes,
            digest,
        });
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Compares with every token, whichever matches, so that the time
    /// taken says nothing about which one (or how much of one) matched.
    fn find(&self, presented: &[u8; 32]) -> Option<(&TokenName, Scopes)> {
        let mut found = None;
        for entry in &self.entries {
            let matches: bool = entry.digest.ct_eq(presented).into();
            if matches && found.is_none() {
                found = Some((&entry.name, entry.scopes));
            }
        }
        found
    }
}

impl std::fmt::Debug for Tokens {
    /// Never the tokens, not even their digests.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("required", &self.required)
            .finish_non_exhaustive()
    }
}

/// The accepted tokens, shared by every request and replaced whole.
pub struct Tokens {
    /// With neither `API_TOKEN` nor `API_TOKENS_FILE`, the API is open.
    required: bool,
    current: RwLock<Arc<TokenSet>>,
}

impl Tokens {
    pub fn open() -> Self {
        Self {
            required: false,
            current: RwLock::default(),
        }
    }

    /// Tokens are required, even if `set` is empty (then every protected
    /// request is refused: an empty file never opens the API).
    pub fn required(set: TokenSet) -> Self {
        Self {
            required: true,
            current: RwLock::new(Arc::new(set)),
        }
    }

    pub fn are_required(&self) -> bool {
        self.required
    }

    /// Takes a new set for every request that starts after it; requests in
    /// flight keep the set they started with.
    pub fn replace(&self, set: TokenSet) {
        let set = Arc::new(set);
        match self.current.write() {
            Ok(mut current) => *current = set,
            Err(poisoned) => *poisoned.into_inner() = set,
        }
    }

    /// The name and scopes of the token `presented`, if it is accepted.
    pub fn check(&self, presented: &str) -> Option<(TokenName, Scopes)> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let set = match self.current.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        set.find(&digest)
            .map(|(name, scopes)| (name.clone(), scopes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# who, what, secret\n\
                        ci-bot read,write 0123456789abcdef-ci\n\
                        \n\
                        prometheus metrics 0123456789abcdef-prom\n\
                        admin all 0123456789abcdef-admin\n";

    #[test]
    fn a_token_file_gives_each_token_its_name_and_scopes() {
        let tokens = Tokens::required(TokenSet::parse(FILE).unwrap());
        let (name, scopes) = tokens.check("0123456789abcdef-ci").unwrap();
        assert_eq!(&*name.0, "ci-bot");
        assert!(scopes.allows(Scope::Read) && scopes.allows(Scope::Write));
        assert!(!scopes.allows(Scope::Metrics));
        let (_, scopes) = tokens.check("0123456789abcdef-prom").unwrap();
        assert_eq!(
            (scopes.allows(Scope::Read), scopes.allows(Scope::Metrics)),
            (false, true)
        );
        assert_eq!(
            tokens.check("0123456789abcdef-admin").unwrap().1,
            Scopes::ALL
        );
        assert!(tokens.check("0123456789abcdef").is_none());
        assert!(tokens.check("").is_none());
    }

    #[test]
    fn a_bad_line_is_named_and_no_token_of_the_file_is_taken() {
        for (text, line, says) in [
            ("a read\n", 1, "NAME SCOPES TOKEN"),
            (
                "ok read 0123456789abcdef\nbad delete 0123456789abcdeX\n",
                2,
                "unknown scope",
            ),
            ("a read short\n", 1, "shorter than 16"),
            (
                "a read 0123456789abcdef\na write 0123456789abcdeX\n",
                2,
                "used twice",
            ),
            (
                "a read 0123456789abcdef\nb write 0123456789abcdef\n",
                2,
                "also another",
            ),
            ("a/b read 0123456789abcdef\n", 1, "letters, digits"),
        ] {
            let err = TokenSet::parse(text).err().unwrap();
            assert_eq!(err.line, line, "{text}");
            assert!(err.to_string().contains(says), "{err}");
            assert!(
                !err.to_string().contains("0123456789abcde"),
                "no secret in {err}"
            );
        }
    }

    #[test]
    fn a_replaced_set_takes_effect_and_an_empty_one_refuses_everyone() {
        let tokens = Tokens::required(TokenSet::parse(FILE).unwrap());
        tokens.replace(TokenSet::parse("new read 0123456789abcdef-new\n").unwrap());
        assert!(tokens.check("0123456789abcdef-ci").is_none());
        assert!(tokens.check("0123456789abcdef-new").is_some());
        tokens.replace(TokenSet::default());
        assert!(tokens.are_required());
        assert!(tokens.check("0123456789abcdef-new").is_none());
    }
}
