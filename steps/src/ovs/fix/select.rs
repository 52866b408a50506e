//! Which security groups get a rule: a port's traffic is allowed by the
//! union of its groups' rules, so one group per offending port is enough.
//!
//! [`choose_groups`] covers the ports greedily: the group shared by the most
//! ports still uncovered first (ties: the smaller group ID, so the choice is
//! stable), until every port is covered. Changing few groups keeps the
//! change small to review; a port without any group cannot be fixed this
//! way (the operator gives it one) and is returned apart.

use std::collections::{BTreeMap, BTreeSet};

/// The groups chosen, each with the ports it covers, and the ports without a group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Choice {
    /// `(group, ports)`, in the order chosen; ports sorted.
    pub groups: Vec<(String, Vec<String>)>,
    /// Ports that have no security group (sorted).
    pub groupless: Vec<String>,
}

/// Chooses groups covering every port of `ports` (`(port, its groups)`).
pub fn choose_groups(ports: &[(String, Vec<String>)]) -> Choice {
    let mut left: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut groupless = Vec::new();
    for (p, gs) in ports {
        if gs.is_empty() {
            groupless.push(p.clone());
        } else {
            left.entry(p)
                .or_default()
                .extend(gs.iter().map(String::as_str));
        }
    }
    groupless.sort();
    groupless.dedup();
    let mut groups = Vec::new();
    while !left.is_empty() {
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for gs in left.values() {
            for g in gs {
                *count.entry(g).or_default() += 1;
            }
        }
        // The most ports; among equals the smallest ID (BTreeMap order, strict >).
        let mut best: Option<(&str, usize)> = None;
        for (g, n) in count {
            if best.is_none_or(|(_, b)| n > b) {
                best = Some((g, n));
            }
        }
        let Some((g, _)) = best else { break };
        let covered: Vec<String> = left
            .iter()
            .filter(|(_, gs)| gs.contains(g))
            .map(|(p, _)| p.to_string())
            .collect();
        left.retain(|_, gs| !gs.contains(g));
        groups.push((g.to_string(), covered));
    }
    Choice { groups, groupless }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(id: &str, groups: &[&str]) -> (String, Vec<String>) {
        (id.into(), groups.iter().map(|g| g.to_string()).collect())
    }

    #[test]
    fn the_shared_group_first_then_the_rest() {
        let c = choose_groups(&[
            p("p1", &["a", "shared"]),
            p("p2", &["shared"]),
            p("p3", &["b", "shared"]),
            p("p4", &["c", "d"]),
            p("p5", &[]),
        ]);
        assert_eq!(
            c.groups,
            vec![
                (
                    "shared".to_string(),
                    vec!["p1".into(), "p2".into(), "p3".into()]
                ),
                ("c".to_string(), vec!["p4".into()]),
            ]
        );
        assert_eq!(c.groupless, vec!["p5"]);
    }

    #[test]
    fn every_port_is_covered_exactly_by_a_chosen_group() {
        let ports = vec![
            p("p1", &["x", "y"]),
            p("p2", &["y", "z"]),
            p("p3", &["z"]),
            p("p4", &["w"]),
            p("p1", &["x", "y"]),
        ];
        let c = choose_groups(&ports);
        let chosen: BTreeSet<&str> = c.groups.iter().map(|(g, _)| g.as_str()).collect();
        for (port, gs) in &ports {
            assert!(gs.iter().any(|g| chosen.contains(g.as_str())), "{port}");
        }
        let listed: Vec<&String> = c.groups.iter().flat_map(|(_, ps)| ps).collect();
        assert_eq!(listed.len(), 4, "each port listed once: {listed:?}");
        assert_eq!(choose_groups(&[]), Choice::default());
    }
}
