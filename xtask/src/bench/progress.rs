//! What the benchmark is doing: one status line redrawn in place on a terminal (target, phase,
//! seconds left), plain log lines otherwise, so CI logs and files stay readable.

use std::{
    io::{self, IsTerminal as _, Write as _},
    time::{Duration, Instant},
};

#[derive(Debug)]
pub struct Progress {
    tty: bool,
    /// What is being measured, e.g. `nsd/hot`.
    subject: String,
    phase: String,
    deadline: Option<Instant>,
}

impl Progress {
    pub fn new() -> Self {
        Self {
            tty: io::stderr().is_terminal(),
            subject: String::new(),
            phase: String::new(),
            deadline: None,
        }
    }

    pub fn subject(&mut self, subject: impl Into<String>) {
        self.subject = subject.into();
    }

    /// Starts a phase that lasts at most `limit`.
    pub fn phase(&mut self, phase: impl Into<String>, limit: Duration) {
        self.phase = phase.into();
        self.deadline = Some(Instant::now() + limit);
        if self.tty {
            self.draw();
        } else {
            eprintln!("bench: {}: {}", self.subject, self.phase);
        }
    }

    /// Redraws the status line with the time left; called from every wait loop.
    pub fn tick(&mut self) {
        if self.tty {
            self.draw();
        }
    }

    /// A line that stays: a result, a warning.
    pub fn note(&mut self, line: impl AsRef<str>) {
        if self.tty {
            eprint!("\r\x1b[K");
        }
        eprintln!("bench: {}", line.as_ref());
        if self.tty && self.deadline.is_some() {
            self.draw();
        }
    }

    /// Clears the status line, before the report is printed.
    pub fn finish(&mut self) {
        self.deadline = None;
        if self.tty {
            eprint!("\r\x1b[K");
        }
    }

    fn draw(&self) {
        let left = self
            .deadline
            .map(|d| d.saturating_duration_since(Instant::now()).as_secs())
            .unwrap_or(0);
        eprint!(
            "\r\x1b[K{:<24} {:<28} {left:>4} s left",
            self.subject, self.phase
        );
        let _ = io::stderr().flush();
    }
}
