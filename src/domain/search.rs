//! Text search over a task's title and description (`q`): which words a
//! query asks for, by one rule that both backends' text indexes can keep.

use super::ValidationError;

/// The longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// The shortest word searched for: InnoDB does not index shorter ones
/// (`innodb_ft_min_token_size`, 3 by default).
pub const MIN_WORD_CHARS: usize = 3;
/// The longest word: InnoDB does not index longer ones
/// (`innodb_ft_max_token_size`, 84 by default).
pub const MAX_WORD_CHARS: usize = 84;

/// InnoDB's default full-text stopwords (`INFORMATION_SCHEMA.
/// INNODB_FT_DEFAULT_STOPWORD`), which it leaves out of its index.
const STOPWORDS: [&str; 35] = [
    "a", "about", "an", "are", "as", "at", "be", "by", "com", "de", "en", "for", "from", "how",
    "i", "in", "is", "it", "la", "of", "on", "or", "that", "the", "this", "to", "was", "what",
    "when", "where", "who", "will", "with", "und", "www",
];

/// The words a task's title and description must all contain.
///
/// A word is a run of letters, digits and `_`; anything else (quotes,
/// `*`, `-`, `+`, punctuation) only separates words, so no query syntax of
/// either backend gets through. Words are compared without case (and, by
/// both indexes, without accents). Words shorter than
/// [`MIN_WORD_CHARS`] and the stopwords are left out, on both backends
/// alike: InnoDB cannot find them (a required one would match nothing),
/// and a query should find the same tasks on either backend. Whole words
/// only, no prefixes: a prefix of a common word reads a large part of
/// either index, and InnoDB's prefix search (`word*`) ranks and fetches
/// every task it matches.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TextQuery {
    words: Vec<String>,
}

impl TextQuery {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.chars().count() > MAX_QUERY_CHARS {
            return Err(ValidationError::QueryTooLong);
        }
        let mut words: Vec<String> = Vec::new();
        for word in raw
            .split(|c: char| !is_word_char(c))
            .filter(|word| !word.is_empty())
        {
            let length = word.chars().count();
            if length > MAX_WORD_CHARS {
                return Err(ValidationError::QueryWordTooLong);
            }
            let word = word.to_lowercase();
            if length < MIN_WORD_CHARS || STOPWORDS.contains(&word.as_str()) {
                continue;
            }
            if !words.contains(&word) {
                words.push(word);
            }
        }
        if words.is_empty() {
            return Err(ValidationError::QueryWithoutWords);
        }
        Ok(Self { words })
    }

    /// Lower case, each once, in the query's order; never empty.
    pub fn words(&self) -> &[String] {
        &self.words
    }
}

/// What InnoDB's parser takes as part of a word, and FTS5's `unicode61`
/// with `tokenchars '_'` (migration 0012).
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(raw: &str) -> Result<Vec<String>, ValidationError> {
        TextQuery::parse(raw).map(|query| query.words().to_vec())
    }

    #[test]
    fn a_query_is_its_words_in_lower_case_each_once() {
        assert_eq!(
            words("Pay  RENT, pay rent!").unwrap(),
            ["pay", "rent"].map(String::from)
        );
        assert_eq!(words("Überweisung").unwrap(), ["überweisung"]);
        assert_eq!(words("snake_case").unwrap(), ["snake_case"]);
    }

    #[test]
    fn query_syntax_is_only_separators() {
        assert_eq!(
            words(r#""quoted" pay* -rent +due NEAR(abc) AND OR NOT"#).unwrap(),
            ["quoted", "pay", "rent", "due", "near", "abc", "and", "not"].map(String::from)
        );
    }

    #[test]
    fn short_words_and_stopwords_are_left_out_and_nothing_left_is_refused() {
        assert_eq!(words("QA of the invoice").unwrap(), ["invoice"]);
        assert_eq!(words("ok 42 The"), Err(ValidationError::QueryWithoutWords));
        assert_eq!(words(""), Err(ValidationError::QueryWithoutWords));
        assert_eq!(words(" *\"-+ "), Err(ValidationError::QueryWithoutWords));
    }

    #[test]
    fn a_query_and_its_words_have_a_length_limit() {
        assert!(words(&"abc ".repeat(50)).is_ok());
        assert_eq!(words(&"x".repeat(201)), Err(ValidationError::QueryTooLong));
        assert!(words(&"x".repeat(84)).is_ok());
        assert_eq!(
            words(&"x".repeat(85)),
            Err(ValidationError::QueryWordTooLong)
        );
    }
}
