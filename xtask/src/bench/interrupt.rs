//! Ctrl-C (and SIGTERM, SIGHUP) as a request to stop, so the benchmark can tear down its
//! namespaces, servers and XDP programs instead of dying with them in place.
//!
//! The handler only sets a flag. Every wait in the benchmark polls [`check`], which turns the
//! flag into an error; the error unwinds through the guards, whose `Drop` cleans up.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The benchmark was asked to stop.
#[derive(Debug, thiserror::Error)]
#[error("interrupted; everything the benchmark started has been stopped and removed")]
pub struct Interrupted;

extern "C" fn on_signal(_signal: libc::c_int) {
    // An atomic store is async-signal-safe.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Routes SIGINT, SIGTERM and SIGHUP to the flag for the rest of the process's life.
pub fn install() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(
                signal,
                on_signal as extern "C" fn(libc::c_int) as *const () as libc::sighandler_t,
            )
        };
    }
}

pub fn check() -> Result<(), Interrupted> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        Err(Interrupted)
    } else {
        Ok(())
    }
}
