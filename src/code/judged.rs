//! An assert-based test as two instances and a host between them (decision record 006).
//!
//! The *judge* runs the test code; the *solution* runs the candidate's code and serves calls.
//! Neither can reach the other: the host reads each one's stdout as it grows, forwards every
//! `call` marker of the judge to the solution's stdin, and every answer of the solution
//! (`returned`, `raised`, or a failure) to the judge's stdin. Both run in this one task, so the
//! host never blocks on a guest: stdin is fed without waiting, and each guest keeps its own
//! deadline, memory cap and output cap.
//!
//! What the host records is what decides the verdict (`reward/code.rs`): the solution's first
//! marker (did it compile — printed before its code ran), whether any call was answered with
//! something other than plain data, the judge's last marker, and both runs' outcomes.

use std::future::Future;

use super::CodeError;
use super::harness::{Marker, MarkerScanner};
use super::pipe::{CappedPipe, FeedPipe};
use super::run::RawRun;

/// What the host saw of the conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conversation {
    /// The solution's first marker: `Some(true)` compiled, `Some(false)` did not.
    pub compiled: Option<bool>,
    /// Calls the judge made.
    pub calls: usize,
    /// The first answer of the solution that was not a value or an exception
    /// (`unrepresentable …`, `missing_function …`), or `ended` when it stopped mid-call.
    pub solution_failure: Option<String>,
    /// The judge's last marker other than a call (`passed`, `assertion_failed`, …).
    pub judge_end: Option<String>,
}

/// One side: its stdout and the stdin the host feeds.
pub(super) struct Side {
    pub stdout: CappedPipe,
    pub stdin: FeedPipe,
    pub nonce: String,
}

/// Runs both guests to their end while relaying calls between them.
pub(super) async fn converse<J, S>(
    judge_run: J,
    solution_run: S,
    judge: Side,
    solution: Side,
) -> (Result<RawRun, CodeError>, Result<RawRun, CodeError>, Conversation)
where
    J: Future<Output = Result<RawRun, CodeError>>,
    S: Future<Output = Result<RawRun, CodeError>>,
{
    tokio::pin!(judge_run, solution_run);
    let mut judge_scan = MarkerScanner::new(&judge.nonce);
    let mut solution_scan = MarkerScanner::new(&solution.nonce);
    let mut conversation = Conversation::default();
    let mut pending_calls = 0usize;
    let (mut judge_raw, mut solution_raw) = (None, None);
    judge.stdin.push(format!("{}\n", judge.nonce).as_bytes());
    solution.stdin.push(format!("{}\n", solution.nonce).as_bytes());

    while judge_raw.is_none() || solution_raw.is_none() {
        tokio::select! {
            raw = &mut judge_run, if judge_raw.is_none() => {
                judge_raw = Some(raw);
                // The solution's serving loop ends at end-of-file.
                solution.stdin.close();
            }
            raw = &mut solution_run, if solution_raw.is_none() => {
                solution_raw = Some(raw);
            }
            () = judge.stdout.changed(), if judge_raw.is_none() => {}
            () = solution.stdout.changed(), if solution_raw.is_none() => {}
        }
        // Whatever woke us, read both outputs to their end: a guest's last write and its exit
        // can arrive together.
        for marker in judge_scan.feed(&unread(&judge_raw, &judge.stdout, judge_scan.offset())) {
            if marker.status == "call" {
                conversation.calls += 1;
                pending_calls += 1;
                solution.stdin.push(format!("{}\n", marker.payload).as_bytes());
            } else {
                conversation.judge_end = Some(marker.status);
            }
        }
        for marker in solution_scan.feed(&unread(&solution_raw, &solution.stdout, solution_scan.offset())) {
            answer(&marker, &mut conversation, &mut pending_calls, &judge.stdin);
        }
        if solution_raw.is_some() {
            if pending_calls > 0 && conversation.solution_failure.is_none() {
                conversation.solution_failure = Some("ended".to_owned());
            }
            // A judge waiting for an answer reads end-of-file and reports it.
            judge.stdin.close();
        }
    }
    let (Some(judge_raw), Some(solution_raw)) = (judge_raw, solution_raw) else {
        unreachable!("the loop ends only when both runs have ended");
    };
    (judge_raw, solution_raw, conversation)
}

/// The output from `offset` on: from the pipe while the guest runs, from its finished run
/// after (which took the pipe's bytes).
fn unread(finished: &Option<Result<RawRun, CodeError>>, pipe: &CappedPipe, offset: usize) -> Vec<u8> {
    match finished {
        None => pipe.read_from(offset),
        Some(Ok(raw)) => raw.stdout.get(offset..).map(<[u8]>::to_vec).unwrap_or_default(),
        Some(Err(_)) => Vec::new(),
    }
}

/// Takes one marker of the solution: the compile outcome first, then answers to calls.
fn answer(
    marker: &Marker,
    conversation: &mut Conversation,
    pending_calls: &mut usize,
    judge_stdin: &FeedPipe,
) {
    if conversation.compiled.is_none() {
        // Only the first marker may say whether the solution compiled: it is printed before
        // any of the solution's code runs.
        conversation.compiled = Some(marker.status == "compiled");
        return;
    }
    if *pending_calls == 0 {
        // Nothing was asked: the solution printed a marker of its own. It decides nothing.
        return;
    }
    *pending_calls -= 1;
    match marker.status.as_str() {
        "returned" | "raised" => {}
        other => {
            if conversation.solution_failure.is_none() {
                conversation.solution_failure = Some(format!("{other} {}", marker.payload));
            }
        }
    }
    judge_stdin.push(format!("{} {}\n", marker.status, marker.payload).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(status: &str, payload: &str) -> Marker {
        Marker {
            status: status.into(),
            payload: payload.into(),
        }
    }

    #[test]
    fn the_first_marker_decides_compilation_and_unasked_answers_are_ignored() {
        let judge_stdin = FeedPipe::default();
        let mut conversation = Conversation::default();
        let mut pending = 0;
        answer(
            &marker("compiled", ""),
            &mut conversation,
            &mut pending,
            &judge_stdin,
        );
        assert_eq!(conversation.compiled, Some(true));
        // A forged compile error later is just an unasked marker.
        answer(
            &marker("compile_error", ""),
            &mut conversation,
            &mut pending,
            &judge_stdin,
        );
        assert_eq!(conversation.compiled, Some(true));
        assert_eq!(conversation.solution_failure, None);
        pending = 1;
        answer(
            &marker("unrepresentable", "\"a Weird\""),
            &mut conversation,
            &mut pending,
            &judge_stdin,
        );
        assert_eq!(
            conversation.solution_failure.as_deref(),
            Some("unrepresentable \"a Weird\"")
        );
        assert_eq!(pending, 0);
    }
}
