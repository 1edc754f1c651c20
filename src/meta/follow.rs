//! How a non-voter node hears about namespace changes: while something on
//! it subscribes, it long-polls one voter's change feed
//! (`MetaRequest::Changes`) and republishes each answer on its own feed.
//!
//! The first answer only tells where the log is; it is republished as a
//! reset, because whatever subscribers cached before it may already be
//! stale. A voter that fails or answers nonsense is left for the next one
//! after a backoff; one that has nothing to say for a whole poll is also
//! left, so a voter stuck behind the others cannot hold the feed back.

use super::{
    feed::Notice,
    rpc::ChangesAnswer,
    service::{Meta, MetaError},
};
use std::{sync::Arc, time::Duration};

const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// A poll answered with nothing sooner than this was not held as it should
/// have been: back off rather than ask again at once.
const HELD_AT_LEAST: Duration = Duration::from_secs(1);

/// Checks a voter's answer to a poll after `since`: entries in increasing
/// order, after `since`, not beyond `upto`. A voter's answer is input like
/// any other; a bad one is refused.
pub(super) fn check_answer(since: Option<u64>, a: &ChangesAnswer) -> Result<(), String> {
    let ChangesAnswer::Entries { upto, entries } = a else {
        return Ok(());
    };
    let mut prev = since;
    for (i, _) in entries {
        if prev.is_some_and(|p| *i <= p) {
            return Err(format!("entry {i} does not come after {prev:?}"));
        }
        prev = Some(*i);
    }
    if let Some((last, _)) = entries.last() {
        if last > upto {
            return Err(format!("entry {last} is past {upto}"));
        }
    }
    if since.is_none() && !entries.is_empty() {
        return Err("changes in an answer that asked only for the position".into());
    }
    Ok(())
}

/// Where the feed is after `answer` to a poll after `since`, and what to
/// republish.
pub(super) fn take_answer(since: Option<u64>, answer: ChangesAnswer) -> (u64, Vec<Notice>) {
    match answer {
        ChangesAnswer::TooOld { upto } => (upto, vec![Notice::Reset { index: upto }]),
        ChangesAnswer::Entries { upto, entries } => match since {
            None => (upto, vec![Notice::Reset { index: upto }]),
            Some(s) => {
                let notices = entries
                    .into_iter()
                    .map(|(index, c)| Notice::Changed {
                        index,
                        changes: Arc::new(c),
                    })
                    .collect();
                (s.max(upto), notices)
            }
        },
    }
}

/// The non-voter's poll loop; runs until the node's tasks are cancelled.
pub(super) async fn follow(meta: Meta) {
    let feed = meta.feed().clone();
    let mut since: Option<u64> = None;
    let mut turn = 0usize;
    let mut backoff = BACKOFF_MIN;
    loop {
        feed.wanted().await;
        let voters = meta.voter_peers().await;
        let Some(&peer) = voters.get(turn % voters.len().max(1)) else {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
            continue;
        };
        let asked = tokio::time::Instant::now();
        let result = meta.ask_changes(peer, since).await.and_then(|a| {
            check_answer(since, &a)
                .map(|()| a)
                .map_err(MetaError::Other)
        });
        match result {
            Ok(answer) => {
                let idle = since.is_some()
                    && matches!(&answer, ChangesAnswer::Entries { entries, .. } if entries.is_empty());
                let (upto, notices) = take_answer(since, answer);
                if notices.iter().any(|n| matches!(n, Notice::Reset { .. })) && since.is_some() {
                    tracing::info!(%peer, upto, "the change feed lost track; caches are reset");
                }
                for n in notices {
                    feed.forward(n);
                }
                since = Some(upto);
                if idle {
                    // Nothing for a whole poll: the next one goes to
                    // another voter, in case this one is stuck behind.
                    turn = turn.wrapping_add(1);
                }
                if idle && asked.elapsed() < HELD_AT_LEAST {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                } else {
                    backoff = BACKOFF_MIN;
                }
            }
            Err(e) => {
                tracing::debug!(%peer, error = %e, "change poll failed; trying another voter");
                turn = turn.wrapping_add(1);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::Changes;

    fn entries(upto: u64, idx: &[u64]) -> ChangesAnswer {
        ChangesAnswer::Entries {
            upto,
            entries: idx.iter().map(|&i| (i, Changes::default())).collect(),
        }
    }

    #[test]
    fn t20_bad_answers_are_refused() {
        assert!(check_answer(Some(5), &entries(9, &[6, 9])).is_ok());
        assert!(check_answer(Some(5), &entries(5, &[])).is_ok());
        assert!(check_answer(Some(5), &ChangesAnswer::TooOld { upto: 1 }).is_ok());
        assert!(check_answer(Some(5), &entries(9, &[5])).is_err(), "old");
        assert!(
            check_answer(Some(5), &entries(9, &[7, 6])).is_err(),
            "order"
        );
        assert!(
            check_answer(Some(5), &entries(9, &[7, 7])).is_err(),
            "twice"
        );
        assert!(
            check_answer(Some(5), &entries(8, &[9])).is_err(),
            "past upto"
        );
        assert!(check_answer(None, &entries(8, &[3])).is_err(), "unasked");
    }

    #[test]
    fn t10_answers_become_notices_and_a_new_position() {
        // The first answer: a reset at the log's position.
        assert_eq!(
            take_answer(None, entries(40, &[])),
            (40, vec![Notice::Reset { index: 40 }])
        );
        let (at, n) = take_answer(Some(40), entries(43, &[41, 43]));
        assert_eq!(at, 43);
        assert_eq!(n.len(), 2);
        assert!(matches!(n[1], Notice::Changed { index: 43, .. }));
        // A voter behind us does not move us back.
        assert_eq!(take_answer(Some(40), entries(30, &[])), (40, vec![]));
        assert_eq!(
            take_answer(Some(40), ChangesAnswer::TooOld { upto: 90 }),
            (90, vec![Notice::Reset { index: 90 }])
        );
    }
}
