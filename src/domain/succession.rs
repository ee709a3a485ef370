//! Units that cease — merged, split, renamed — and the units that take over their duties.
//! History keeps the unit of the time (a submission stays its maker's); responsibility follows
//! the successor from the day the succession takes effect.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;

/// `predecessor` ceased at the end of the day before `effective_on`; `successor` took over
/// (all of it in a merge or rename, a share in a split).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub predecessor: String,
    pub successor: String,
    pub effective_on: NaiveDate,
}

/// Every unit whose duties passed to `code`, directly or through earlier successions.
pub fn predecessors(code: &str, edges: &[Edge]) -> Vec<String> {
    let mut found = BTreeSet::new();
    let mut queue = vec![code.to_owned()];
    while let Some(current) = queue.pop() {
        for edge in edges.iter().filter(|e| e.successor == current) {
            if edge.predecessor != code && found.insert(edge.predecessor.clone()) {
                queue.push(edge.predecessor.clone());
            }
        }
    }
    found.into_iter().collect()
}

/// The units that hold `code`'s duties on `day`: `code` itself until it ceased, then its
/// successors, following their own later successions.
pub fn holders_on(code: &str, day: NaiveDate, edges: &[Edge]) -> Vec<String> {
    let mut holders = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut queue = vec![code.to_owned()];
    while let Some(current) = queue.pop() {
        if !seen.insert(current.clone()) {
            continue;
        }
        let next: Vec<&Edge> = edges
            .iter()
            .filter(|e| e.predecessor == current && e.effective_on <= day)
            .collect();
        if next.is_empty() {
            holders.insert(current);
        } else {
            queue.extend(next.into_iter().map(|e| e.successor.clone()));
        }
    }
    holders.into_iter().collect()
}

/// One move of an item's responsibility from a unit to its successor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub from: String,
    pub to: String,
    pub effective_on: NaiveDate,
}

/// Who held an item on `day`, given who holds it now and its transfers: the unit it was moved
/// away from by the first transfer after `day`, or the current holder if none came after.
pub fn holder_on<'a>(
    current: Option<&'a str>,
    transfers: &'a [Transfer],
    day: NaiveDate,
) -> Option<&'a str> {
    transfers
        .iter()
        .filter(|t| t.effective_on > day)
        .min_by_key(|t| t.effective_on)
        .map(|t| t.from.as_str())
        .or(current)
}

/// An indicator or a task: the items a unit can be responsible for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Item {
    Indicator(i64),
    Task(i64),
}

impl Item {
    pub fn indicator_id(self) -> Option<i64> {
        match self {
            Item::Indicator(id) => Some(id),
            Item::Task(_) => None,
        }
    }

    pub fn task_id(self) -> Option<i64> {
        match self {
            Item::Task(id) => Some(id),
            Item::Indicator(_) => None,
        }
    }
}

impl std::fmt::Display for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Item::Indicator(id) => write!(f, "indicator {id}"),
            Item::Task(id) => write!(f, "task {id}"),
        }
    }
}

/// Which successor takes each of `held`: the only successor of a merge or rename unless an
/// assignment says otherwise; in a split, only an explicit assignment decides. The error
/// lists the items a split left unassigned.
pub fn distribute(
    held: &[Item],
    successors: &[String],
    assignments: &HashMap<Item, String>,
) -> Result<Vec<(Item, String)>, Vec<Item>> {
    let only = match successors {
        [one] => Some(one),
        _ => None,
    };
    let mut unassigned = Vec::new();
    let mut moves = Vec::new();
    for item in held {
        match assignments.get(item).or(only) {
            Some(to) => moves.push((*item, to.clone())),
            None => unassigned.push(*item),
        }
    }
    if unassigned.is_empty() {
        Ok(moves)
    } else {
        Err(unassigned)
    }
}

/// A coordinating-unit list after `predecessor` ceased: its place taken by the successors,
/// without repeating a unit already listed.
pub fn replace_coordinating(
    codes: &[String],
    predecessor: &str,
    successors: &[String],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(codes.len() + successors.len());
    for code in codes {
        let replacement: &[String] = if code == predecessor {
            successors
        } else {
            std::slice::from_ref(code)
        };
        for c in replacement {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn edge(p: &str, s: &str, on: NaiveDate) -> Edge {
        Edge {
            predecessor: p.into(),
            successor: s.into(),
            effective_on: on,
        }
    }

    /// Đồng Tháp since 2025: the department merged into Finance, Cao Lãnh city split in three.
    fn dong_thap() -> Vec<Edge> {
        vec![
            edge("SKHDT", "STC", day(2025, 3, 1)),
            edge("UBND-TPCL", "UBND-PCL", day(2025, 7, 1)),
            edge("UBND-TPCL", "UBND-PMN", day(2025, 7, 1)),
            edge("UBND-TPCL", "UBND-PMT", day(2025, 7, 1)),
        ]
    }

    #[test]
    fn holders_follow_the_date() {
        let edges = dong_thap();
        assert_eq!(holders_on("SKHDT", day(2025, 2, 28), &edges), ["SKHDT"]);
        assert_eq!(holders_on("SKHDT", day(2025, 3, 1), &edges), ["STC"]);
        assert_eq!(
            holders_on("UBND-TPCL", day(2023, 1, 1), &edges),
            ["UBND-TPCL"]
        );
        assert_eq!(
            holders_on("UBND-TPCL", day(2026, 1, 1), &edges),
            ["UBND-PCL", "UBND-PMN", "UBND-PMT"]
        );
        assert_eq!(holders_on("STC", day(2026, 1, 1), &edges), ["STC"]);
    }

    #[test]
    fn chains_are_followed_both_ways() {
        let edges = vec![
            edge("A", "B", day(2024, 1, 1)),
            edge("B", "C", day(2025, 1, 1)),
        ];
        assert_eq!(holders_on("A", day(2024, 6, 1), &edges), ["B"]);
        assert_eq!(holders_on("A", day(2025, 6, 1), &edges), ["C"]);
        assert_eq!(predecessors("C", &edges), ["A", "B"]);
        assert!(predecessors("A", &edges).is_empty());
    }

    #[test]
    fn a_cycle_does_not_loop() {
        let edges = vec![
            edge("A", "B", day(2024, 1, 1)),
            edge("B", "A", day(2025, 1, 1)),
        ];
        assert_eq!(predecessors("A", &edges), ["B"]);
        assert!(holders_on("A", day(2026, 1, 1), &edges).len() <= 2);
    }

    #[test]
    fn holder_on_undoes_later_transfers() {
        let transfers = vec![
            Transfer {
                from: "A".into(),
                to: "B".into(),
                effective_on: day(2024, 1, 1),
            },
            Transfer {
                from: "B".into(),
                to: "C".into(),
                effective_on: day(2025, 1, 1),
            },
        ];
        assert_eq!(holder_on(Some("C"), &transfers, day(2023, 6, 1)), Some("A"));
        assert_eq!(holder_on(Some("C"), &transfers, day(2024, 1, 1)), Some("B"));
        assert_eq!(holder_on(Some("C"), &transfers, day(2025, 1, 1)), Some("C"));
        assert_eq!(holder_on(None, &[], day(2025, 1, 1)), None);
    }

    #[test]
    fn a_merge_moves_everything_a_split_needs_assignments() {
        let held = [Item::Indicator(1), Item::Task(2)];
        let merge = distribute(&held, &["STC".into()], &HashMap::new()).unwrap();
        assert_eq!(
            merge,
            [
                (Item::Indicator(1), "STC".into()),
                (Item::Task(2), "STC".into())
            ]
        );
        let wards: Vec<String> = vec!["UBND-PCL".into(), "UBND-PMN".into()];
        let partial = HashMap::from([(Item::Task(2), "UBND-PMN".to_string())]);
        assert_eq!(
            distribute(&held, &wards, &partial).unwrap_err(),
            [Item::Indicator(1)]
        );
        let full = HashMap::from([
            (Item::Task(2), "UBND-PMN".to_string()),
            (Item::Indicator(1), "UBND-PCL".to_string()),
        ]);
        assert_eq!(
            distribute(&held, &wards, &full).unwrap(),
            [
                (Item::Indicator(1), "UBND-PCL".into()),
                (Item::Task(2), "UBND-PMN".into())
            ]
        );
    }

    #[test]
    fn coordinating_lists_take_the_successors_once() {
        let codes: Vec<String> = vec!["BQL-KKT".into(), "SKHDT".into(), "STC".into()];
        assert_eq!(
            replace_coordinating(&codes, "SKHDT", &["STC".into()]),
            ["BQL-KKT", "STC"]
        );
        assert_eq!(
            replace_coordinating(&codes, "BQL-KKT", &["X".into(), "Y".into()]),
            ["X", "Y", "SKHDT", "STC"]
        );
    }

    proptest! {
        /// Successions only ever pass duties to another unit (generated from lower to higher
        /// numbers, as a successor never precedes its predecessor): on any day the duties are
        /// held by at least one unit, none of which has ceased by then, each either the unit
        /// itself or one of its successors.
        #[test]
        fn duties_are_always_held_by_a_living_successor(
            links in proptest::collection::vec((0u8..6, 1u8..6, 0i64..2000), 0..12),
            start in 0u8..6,
            offset in 0i64..2500,
        ) {
            let base = day(2020, 1, 1);
            let edges: Vec<Edge> = links
                .iter()
                .map(|(a, step, d)| (*a, a.saturating_add(*step), d))
                .map(|(a, b, d)| edge(&format!("U{a}"), &format!("U{b}"), base + chrono::Duration::days(*d)))
                .collect();
            let on = base + chrono::Duration::days(offset);
            let code = format!("U{start}");
            let holders = holders_on(&code, on, &edges);
            prop_assert!(!holders.is_empty());
            for holder in holders {
                prop_assert!(!edges.iter().any(|e| e.predecessor == holder && e.effective_on <= on));
                prop_assert!(holder == code || predecessors(&holder, &edges).contains(&code));
            }
        }
    }
}
