//! Transfer progress for humans: an indicatif bar (bytes, speed, ETA, peers)
//! on a terminal, a plain line every few seconds otherwise.

use crate::{control::Event, units};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::{
    io::IsTerminal,
    sync::Mutex,
    time::{Duration, Instant},
};

pub struct Bar {
    what: &'static str,
    bar: Option<ProgressBar>,
    /// Last plain line printed (time, bytes). A std mutex: no await inside.
    last: Mutex<(Instant, u64)>,
}

impl Bar {
    pub fn new(what: &'static str, total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{prefix} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            b.set_style(style);
            b.set_prefix(what);
            b
        });
        Bar {
            what,
            bar,
            last: Mutex::new((Instant::now(), 0)),
        }
    }

    pub fn set(&self, done: u64, total: u64, peers: u32) {
        match &self.bar {
            Some(b) => {
                b.set_length(total);
                b.set_position(done);
                b.set_message(format!("{peers} peer(s)"));
            }
            None => {
                let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
                if last.0.elapsed() >= Duration::from_secs(2) && done != last.1 {
                    eprintln!(
                        "{}: {} of {} via {peers} peer(s)",
                        self.what,
                        units::format_bytes(done),
                        units::format_bytes(total)
                    );
                    *last = (Instant::now(), done);
                }
            }
        }
    }

    pub fn update(&self, ev: &Event) {
        if let Event::Progress { done, total, peers } = ev {
            self.set(*done, *total, *peers);
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
