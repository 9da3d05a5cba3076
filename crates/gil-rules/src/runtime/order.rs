//! The order rules run in each step: Kahn's algorithm over the `after` graph, with the
//! ready set sorted by id so that independent rules run in id order.
//!
//! Plain data in and out, no Lua: the order is tested on its own here, and loading
//! turns an [`OrderError`] into a located rule error.

use std::collections::{BTreeMap, BTreeSet};

/// A rule as ordering sees it: its id and the ids of the rules it must run after.
pub(super) type Node<'a> = (&'a str, &'a [String]);

/// Why the rules have no order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum OrderError {
    /// Rule `rule` (an index into the input) names `missing` in `after`, and no rule has
    /// that id.
    UnknownAfter { rule: usize, missing: String },
    /// The `after` links close a loop. `path` lists the rules of one cycle in the order
    /// `after` asks for — each before the next — and ends with the rule it starts with.
    Cycle { path: Vec<usize> },
}

/// Indexes into `rules` in evaluation order: every rule after the rules its `after`
/// names, and among rules that are free to run, the smallest id first.
pub(super) fn order(rules: &[Node<'_>]) -> Result<Vec<usize>, OrderError> {
    // With two rules of one id the later wins, as it did when this was a petgraph lookup;
    // loading rejects duplicate ids before it orders, so only tests see the difference.
    let by_id: BTreeMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();
    let n = rules.len();
    // `runs_before[j]`: the rules that name `j` in `after`, once per naming.
    let mut runs_before: Vec<Vec<usize>> = vec![Vec::new(); n];
    // `waiting_on[i]`: how many of rule i's `after` entries have not run yet.
    let mut waiting_on: Vec<usize> = vec![0; n];
    for (i, (_, after)) in rules.iter().enumerate() {
        for dep in after.iter() {
            let Some(&j) = by_id.get(dep.as_str()) else {
                return Err(OrderError::UnknownAfter {
                    rule: i,
                    missing: dep.clone(),
                });
            };
            runs_before[j].push(i);
            waiting_on[i] += 1;
        }
    }

    let mut ready: BTreeSet<(&str, usize)> = (0..n)
        .filter(|&i| waiting_on[i] == 0)
        .map(|i| (rules[i].0, i))
        .collect();
    let mut out = Vec::with_capacity(n);
    while let Some((_, i)) = ready.pop_first() {
        out.push(i);
        for &j in &runs_before[i] {
            waiting_on[j] -= 1;
            if waiting_on[j] == 0 {
                ready.insert((rules[j].0, j));
            }
        }
    }
    if out.len() == n {
        return Ok(out);
    }

    // Every rule left waits on another rule left, so walking `after` links among them
    // from the smallest id must come back to a rule already on the path: a cycle.
    let left: BTreeSet<usize> = (0..n).filter(|&i| waiting_on[i] > 0).collect();
    let start = left
        .iter()
        .copied()
        .min_by_key(|&i| rules[i].0)
        .unwrap_or(0);
    let mut path = vec![start];
    let mut current = start;
    loop {
        let next = rules[current]
            .1
            .iter()
            .filter_map(|d| by_id.get(d.as_str()).copied())
            .filter(|j| left.contains(j))
            .min_by_key(|&j| rules[j].0);
        let Some(next) = next else { break };
        if let Some(pos) = path.iter().position(|&p| p == next) {
            path = path[pos..].to_vec();
            path.push(next);
            break;
        }
        path.push(next);
        current = next;
    }
    // The walk went from a rule to the rules it runs after; the report reads forwards.
    path.reverse();
    Err(OrderError::Cycle { path })
}

#[cfg(test)]
mod tests {
    use super::{order, OrderError};

    /// Orders rules given as `(id, after)` and answers with ids.
    fn ordered(rules: &[(&str, &[&str])]) -> Result<Vec<String>, OrderError> {
        let owned: Vec<(&str, Vec<String>)> = rules
            .iter()
            .map(|(id, after)| (*id, after.iter().map(|s| s.to_string()).collect()))
            .collect();
        let nodes: Vec<(&str, &[String])> = owned
            .iter()
            .map(|(id, after)| (*id, after.as_slice()))
            .collect();
        order(&nodes).map(|indices| indices.iter().map(|&i| rules[i].0.to_string()).collect())
    }

    #[test]
    fn independent_rules_run_in_id_order_not_load_order() {
        assert_eq!(
            ordered(&[("c", &[]), ("a", &[]), ("b", &[])]).unwrap(),
            ["a", "b", "c"]
        );
        assert_eq!(ordered(&[]).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn after_comes_first_and_ties_are_broken_by_id_as_rules_become_free() {
        // `a` waits for `b`; once `b` has run, `a` is free and goes before `c`, which
        // was ready all along.
        assert_eq!(
            ordered(&[("a", &["b"]), ("b", &[]), ("c", &[])]).unwrap(),
            ["b", "a", "c"]
        );
        assert_eq!(
            ordered(&[("d", &["b", "c"]), ("c", &["a"]), ("b", &["a"]), ("a", &[])]).unwrap(),
            ["a", "b", "c", "d"]
        );
        // Naming a rule twice is waiting for it once.
        assert_eq!(
            ordered(&[("b", &["a", "a"]), ("a", &[])]).unwrap(),
            ["a", "b"]
        );
    }

    #[test]
    fn an_unknown_after_names_the_rule_and_the_missing_id() {
        assert_eq!(
            ordered(&[("a", &[]), ("b", &["a", "nope"]), ("c", &["gone"])]),
            Err(OrderError::UnknownAfter {
                rule: 1,
                missing: "nope".into()
            })
        );
    }

    #[test]
    fn a_cycle_is_reported_with_its_path_in_run_order() {
        // b after a, c after b, a after c: a → b → c → a.
        assert_eq!(
            ordered(&[("a", &["c"]), ("b", &["a"]), ("c", &["b"])]),
            Err(OrderError::Cycle {
                path: vec![0, 1, 2, 0]
            })
        );
        // Rules that merely wait on the cycle are not part of the path.
        assert_eq!(
            ordered(&[("x", &[]), ("a", &["y"]), ("y", &["z"]), ("z", &["y", "x"])]),
            Err(OrderError::Cycle {
                path: vec![2, 3, 2]
            })
        );
        assert_eq!(
            ordered(&[("self", &["self"])]),
            Err(OrderError::Cycle { path: vec![0, 0] })
        );
    }
}
