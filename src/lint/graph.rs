//! The graph algorithms the DAG checks need, on operation indices: every
//! cycle named in order, and the heaviest chain of an acyclic graph.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// `downstream[u]`: the operations that wait for u (with an edge id the
/// caller keeps). Returns one cycle per group of operations that wait for
/// each other, each as the shortest path from its first operation back to
/// it, in the order they would wait.
pub fn cycles(downstream: &[Vec<(usize, usize)>]) -> Vec<Vec<usize>> {
    let mut found = Vec::new();
    let mut seen: BTreeSet<usize> = BTreeSet::new();
    for start in 0..downstream.len() {
        if seen.contains(&start) {
            continue;
        }
        if let Some(path) = shortest_cycle(start, downstream) {
            seen.extend(group(start, downstream));
            found.push(path);
        }
    }
    found
}

/// The shortest path start → ... → start along downstream edges, as the
/// list of operations from start; None when start is on no cycle.
fn shortest_cycle(start: usize, downstream: &[Vec<(usize, usize)>]) -> Option<Vec<usize>> {
    let mut previous: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(u) = queue.pop_front() {
        for &(v, _) in &downstream[u] {
            if v == start {
                let mut path = vec![u];
                let mut at = u;
                while at != start {
                    at = previous[&at];
                    path.push(at);
                }
                path.reverse();
                return Some(path);
            }
            if let std::collections::btree_map::Entry::Vacant(entry) = previous.entry(v) {
                entry.insert(u);
                queue.push_back(v);
            }
        }
    }
    None
}

/// The operations on some cycle through start: reachable from it and
/// reaching it.
fn group(start: usize, downstream: &[Vec<(usize, usize)>]) -> BTreeSet<usize> {
    let reach = |edges: &dyn Fn(usize) -> Vec<usize>| {
        let mut seen = BTreeSet::from([start]);
        let mut stack = vec![start];
        while let Some(u) = stack.pop() {
            for v in edges(u) {
                if seen.insert(v) {
                    stack.push(v);
                }
            }
        }
        seen
    };
    let forward = reach(&|u| downstream[u].iter().map(|&(v, _)| v).collect());
    let backward = reach(&|v| {
        (0..downstream.len())
            .filter(|&u| downstream[u].iter().any(|&(w, _)| w == v))
            .collect()
    });
    forward.intersection(&backward).copied().collect()
}

/// `before[v]`: the operations v waits for; `weight[v]`: its own cost. The
/// heaviest chain of an acyclic graph, as its total and its operations in
/// order.
pub fn longest_path(before: &[Vec<usize>], weight: &[f64]) -> (f64, Vec<usize>) {
    fn chain(
        v: usize,
        before: &[Vec<usize>],
        weight: &[f64],
        memo: &mut Vec<Option<(f64, Vec<usize>)>>,
    ) -> (f64, Vec<usize>) {
        if let Some(done) = &memo[v] {
            return done.clone();
        }
        let mut best = (0.0, Vec::new());
        for &u in &before[v] {
            let candidate = chain(u, before, weight, memo);
            if candidate.0 > best.0 {
                best = candidate;
            }
        }
        best.0 += weight[v];
        best.1.push(v);
        memo[v] = Some(best.clone());
        best
    }
    let mut memo = vec![None; before.len()];
    (0..before.len())
        .map(|v| chain(v, before, weight, &mut memo))
        .fold(
            (0.0, Vec::new()),
            |best, c| if c.0 > best.0 { c } else { best },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(list: &[(usize, usize)], n: usize) -> Vec<Vec<(usize, usize)>> {
        let mut downstream = vec![Vec::new(); n];
        for (e, &(u, v)) in list.iter().enumerate() {
            downstream[u].push((v, e));
        }
        downstream
    }

    #[test]
    fn cycles_are_named_from_their_first_operation_in_wait_order() {
        // 0 → 1 → 2 → 0, and 3 → 3; 4 hangs off the first cycle.
        let g = edges(&[(0, 1), (1, 2), (2, 0), (3, 3), (2, 4)], 5);
        assert_eq!(cycles(&g), vec![vec![0, 1, 2], vec![3]]);
        assert!(cycles(&edges(&[(0, 1), (0, 2), (1, 3), (2, 3)], 4)).is_empty());
    }

    #[test]
    fn the_heaviest_chain_wins() {
        // 0 → 1 → 3 and 0 → 2 → 3, with 2 heavier than 1.
        let before = vec![vec![], vec![0], vec![0], vec![1, 2]];
        let (total, path) = longest_path(&before, &[10.0, 5.0, 50.0, 1.0]);
        assert_eq!((total, path), (61.0, vec![0, 2, 3]));
    }
}
