//! The backend's index of the tasks' words (migration 0012), and how a
//! query's words are put to it.

use crate::domain::TextQuery;

/// The backend's index of the tasks' words (migration 0012).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TextIndex {
    /// SQLite's FTS5 table `task_fts`. A listing by id reads it first, in
    /// id order (FTS5 walks its matches by rowid and stops with the page):
    /// a page of a word in a third of the tasks and one of a rare word both
    /// cost well under a millisecond over 300k tasks, against 13 ms and
    /// 36 ms (a deep page) for `id IN (…)`, which collects every match
    /// first. In another order, the matches are collected and sorted.
    Fts5,
    /// InnoDB's FULLTEXT index on `search_text`. InnoDB always finds every
    /// match, then fetches and sorts them.
    InnoDb,
}

impl TextIndex {
    /// The match expression for `query`: every word required, each as
    /// plain text. (Words hold only letters, digits and `_`, so neither
    /// backend's query syntax can be in one; quoting them is belt and
    /// braces.)
    pub fn expression(self, query: &TextQuery) -> String {
        let words = query.words().iter();
        match self {
            // FTS5 strings: `"…"`, a `"` doubled; words side by side are ANDed.
            Self::Fts5 => words
                .map(|word| format!("\"{}\"", word.replace('"', "\"\"")))
                .collect::<Vec<_>>()
                .join(" "),
            // Boolean mode: `+` requires a word; operator characters dropped.
            Self::InnoDb => words
                .map(|word| {
                    let plain: String = word
                        .chars()
                        .filter(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    format!("+{plain}")
                })
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_reaches_each_index_as_plain_required_words() {
        let query = TextQuery::parse(r#"Pay "rent" NEAR* -überweisung"#).unwrap();
        assert_eq!(
            TextIndex::Fts5.expression(&query),
            r#""pay" "rent" "near" "überweisung""#
        );
        assert_eq!(
            TextIndex::InnoDb.expression(&query),
            "+pay +rent +near +überweisung"
        );
    }
}
