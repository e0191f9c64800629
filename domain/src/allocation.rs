//! Lead allocation: which new leads the AI agent takes and which go to the human sales team, at
//! exactly the tenant's configured share (seed 004: 0, 25, 50, 75 or 100 %).
//!
//! Owns: the deterministic rule. The k-th lead (k counted from 0 since the share was last set)
//! goes to the AI iff `floor((k+1)·p/100) > floor(k·p/100)`, so after n leads exactly
//! `floor(n·p/100)` are the AI's — within one of `n·p/100`, whatever n, with the AI and human
//! leads spread evenly (25 %: every fourth lead is the AI's, never four in a row).
//!
//! Must not: keep the counter itself or read the clock. The caller reads the tenant's counter
//! under a lock in the transaction that inserts the lead and writes the returned counter back,
//! so replicas share one sequence and a rolled-back lead takes its allocation with it.

use crate::conversation::Handler;
use crate::tenant::check_ai_lead_percentage;
use crate::DomainError;

/// A tenant's allocation sequence: the share it runs at and how many leads it has allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AllocationCounter {
    /// The AI share (0, 25, 50, 75, 100) this sequence counts for.
    pub percentage: i32,
    /// Leads allocated since the share was set.
    pub allocated: i64,
    /// Of those, the AI's.
    pub ai: i64,
}

/// Who handles the next new lead, and the counter to store after it.
///
/// `counter` is the stored sequence (`None` before the tenant's first lead). A share different
/// from the counter's starts a new sequence from zero: "exactly p %" is promised for the leads
/// that arrived under p, not for a mix of old and new settings.
pub fn allocate(
    counter: Option<AllocationCounter>,
    percentage: i32,
) -> Result<(Handler, AllocationCounter), DomainError> {
    let percentage = check_ai_lead_percentage(percentage)?;
    let current = counter
        .filter(|c| c.percentage == percentage && c.allocated >= 0 && c.ai >= 0)
        .unwrap_or(AllocationCounter {
            percentage,
            allocated: 0,
            ai: 0,
        });
    let p = i128::from(percentage);
    let k = i128::from(current.allocated);
    let to_ai = ((k + 1) * p) / 100 > (k * p) / 100;
    let next = AllocationCounter {
        percentage,
        allocated: current.allocated.saturating_add(1),
        ai: current.ai.saturating_add(i64::from(to_ai)),
    };
    let handler = if to_ai { Handler::Ai } else { Handler::Human };
    Ok((handler, next))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn run(percentage: i32, n: usize) -> (Vec<Handler>, AllocationCounter) {
        let mut counter = None;
        let mut handlers = Vec::with_capacity(n);
        for _ in 0..n {
            let (handler, next) = allocate(counter, percentage).unwrap();
            handlers.push(handler);
            counter = Some(next);
        }
        (handlers, counter.unwrap_or_default())
    }

    #[test]
    fn every_prefix_of_the_sequence_is_within_one_lead_of_the_share() {
        for p in [0, 25, 50, 75, 100] {
            let (handlers, counter) = run(p, 1_000);
            let mut ai = 0i64;
            for (i, handler) in handlers.iter().enumerate() {
                ai += i64::from(*handler == Handler::Ai);
                let n = (i + 1) as f64;
                let exact = n * f64::from(p) / 100.0;
                assert!((ai as f64 - exact).abs() < 1.0, "p={p} n={n} ai={ai}");
            }
            assert_eq!(counter.ai, ai);
            assert_eq!(counter.allocated, 1_000);
            assert_eq!(ai, 10 * i64::from(p), "p={p}: exactly p% of 1,000");
        }
    }

    #[test]
    fn the_ends_of_the_scale_give_everything_to_one_side() {
        assert!(run(0, 50).0.iter().all(|h| *h == Handler::Human));
        assert!(run(100, 50).0.iter().all(|h| *h == Handler::Ai));
    }

    #[test]
    fn a_quarter_is_every_fourth_lead() {
        let (handlers, _) = run(25, 8);
        use Handler::{Ai, Human};
        assert_eq!(handlers, [Human, Human, Human, Ai, Human, Human, Human, Ai]);
        let (handlers, _) = run(75, 4);
        assert_eq!(handlers, [Human, Ai, Ai, Ai]);
    }

    #[test]
    fn a_new_share_starts_a_new_sequence() {
        let (_, counter) = run(25, 3);
        let (handler, next) = allocate(Some(counter), 50).unwrap();
        assert_eq!(handler, Handler::Human);
        assert_eq!(
            next,
            AllocationCounter {
                percentage: 50,
                allocated: 1,
                ai: 0
            }
        );
        // The same share continues where it was.
        let (handler, next) = allocate(Some(counter), 25).unwrap();
        assert_eq!((handler, next.allocated, next.ai), (Handler::Ai, 4, 1));
    }

    #[test]
    fn a_share_off_the_scale_or_a_corrupt_counter_is_handled() {
        assert!(allocate(None, 30).is_err());
        assert!(allocate(None, -25).is_err());
        let corrupt = AllocationCounter {
            percentage: 50,
            allocated: -4,
            ai: 9,
        };
        let (_, next) = allocate(Some(corrupt), 50).unwrap();
        assert_eq!((next.allocated, next.ai), (1, 0));
    }
}
