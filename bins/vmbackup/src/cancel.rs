//! Stopping a run cleanly: the run's [`Cancel`] is backup-core's
//! ([`backup_core::batch::Cancel`]); [`XapiStop`] hands the same flag to the XAPI client,
//! so that calls and transfers under way when it is set stop waiting for the host (a read
//! blocked on a stalled host ends within a fraction of a second, not after the socket's
//! timeout).

pub use backup_core::batch::Cancel;

/// The run's stop flag as the XAPI client takes it.
pub trait XapiStop {
    /// The same flag for the XAPI client.
    fn stop(&self) -> xenapi::Stop;
}

impl XapiStop for Cancel {
    fn stop(&self) -> xenapi::Stop {
        xenapi::Stop::from_flag(self.flag())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_xapi_stop_shares_the_flag() {
        let cancel = Cancel::new();
        let stop = cancel.stop();
        assert!(!stop.is_set());
        cancel.cancel();
        assert!(stop.is_set());
    }
}
