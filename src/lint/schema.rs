//! The "did you mean" for a name Polyaxon does not know, and the trigger
//! policies the DAG check names (the schema itself is [`model`](super::model)).

/// V1TriggerPolicy.
pub const TRIGGERS: &[&str] = &[
    "all_succeeded",
    "all_failed",
    "all_done",
    "one_succeeded",
    "one_failed",
    "one_done",
];

/// The closest of `candidates` to `word`, when it is close enough to be a
/// typo: same letters ignoring case and separators, or at most two edits
/// (one for short words).
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let folded = fold(word);
    if let Some(same) = candidates.iter().find(|c| fold(c) == folded) {
        return Some(same);
    }
    let limit = if word.chars().count() <= 4 { 1 } else { 2 };
    candidates
        .iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), *c))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

fn fold(word: &str) -> String {
    word.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Levenshtein distance, with adjacent swaps counting as one edit.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_a_suggestion_and_strangers_none() {
        let fields = ["nodeSelector", "dependencies", "resources"];
        assert_eq!(suggest("nodeSelecter", &fields), Some("nodeSelector"));
        assert_eq!(suggest("NodeSelector", &fields), Some("nodeSelector"));
        assert_eq!(suggest("dependecies", &fields), Some("dependencies"));
        assert_eq!(suggest("resource", &fields), Some("resources"));
        assert_eq!(suggest("banana", &fields), None);
    }
}
