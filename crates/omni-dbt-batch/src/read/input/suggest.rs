//! "Did you mean ...?": the closest known name to a misspelt one, by edit distance.

/// The candidate closest to `word` (case-insensitive Levenshtein distance), if any is close
/// enough to be a plausible typo: at most 3 edits and fewer edits than half of `word`'s length.
pub(super) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word = word.to_lowercase();
    let limit = 3.min(word.chars().count().div_ceil(2));
    candidates
        .into_iter()
        .map(|candidate| (distance(&word, &candidate.to_lowercase()), candidate))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over chars, with one row of memory.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
    }

    #[test]
    fn closest_prefers_the_smallest_distance() {
        let known = ["target_name", "target_role", "target_schema"];
        assert_eq!(closest("target_nam", known), Some("target_name"));
        assert_eq!(closest("TARGET_ROLE", known), Some("target_role"));
        assert_eq!(closest("q", known), None);
    }

    #[test]
    fn the_closest_known_name_is_suggested() {
        use crate::read::input::suggest::closest;
        assert_eq!(
            closest("target_shema", ["name", "target_schema"]),
            Some("target_schema")
        );
        assert_eq!(closest("zzzzzzzz", ["name", "target_schema"]), None);
    }
}
