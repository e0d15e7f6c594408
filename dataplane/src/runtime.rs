//! Thread placement and process signals for the busy-polling loops.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_signal: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// Installs SIGINT/SIGTERM handlers that set the returned flag (async-signal-safe: the
/// handler only stores to an atomic). Loops check it once per iteration.
///
/// # Errors
/// If `sigaction` fails.
pub fn stop_on_signals() -> std::io::Result<&'static AtomicBool> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: zeroed `sigaction` is valid; the handler is an `extern "C"` function that
        // only performs an atomic store.
        let result = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_stop_signal as *const () as libc::sighandler_t;
            libc::sigemptyset(&raw mut action.sa_mask);
            libc::sigaction(signal, &raw const action, std::ptr::null_mut())
        };
        if result != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(&STOP)
}

static OPERATOR_KILL: AtomicBool = AtomicBool::new(false);

extern "C" fn on_operator_kill(_signal: libc::c_int) {
    OPERATOR_KILL.store(true, Ordering::Relaxed);
}

/// Installs a SIGUSR1 handler that sets the returned flag: the operator's emergency stop.
///
/// # Errors
/// If `sigaction` fails.
pub fn kill_on_sigusr1() -> std::io::Result<&'static AtomicBool> {
    // SAFETY: as in `stop_on_signals`: the handler only stores to an atomic.
    let result = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_operator_kill as *const () as libc::sighandler_t;
        libc::sigemptyset(&raw mut action.sa_mask);
        libc::sigaction(libc::SIGUSR1, &raw const action, std::ptr::null_mut())
    };
    if result != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(&OPERATOR_KILL)
}

/// Pins the calling thread to `core`.
///
/// # Errors
/// If the core does not exist or affinity cannot be set.
pub fn pin_to_core(core: usize) -> Result<(), String> {
    let cores = core_affinity::get_core_ids().ok_or("cannot list CPU cores")?;
    let id = cores
        .into_iter()
        .find(|id| id.id == core)
        .ok_or_else(|| format!("core {core} does not exist or is not allowed"))?;
    if core_affinity::set_for_current(id) {
        tracing::info!(core, "thread pinned");
        Ok(())
    } else {
        Err(format!("setting affinity to core {core} failed"))
    }
}
