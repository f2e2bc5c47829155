//! `--shutdown` of a plain Xen guest: `xl shutdown -w` within the deadline (then, with
//! `--force-shutdown`, `xl destroy`), and a guard that starts the guest again from its
//! configuration (`xl create`) unless the migration completed.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Result, bail};
use xenapi::dom0::Limits;

use super::host::XenHost;

/// How long `xl create` and `xl destroy` may take.
const XL_DEADLINE: Duration = Duration::from_secs(120);

/// A guest this run shut down: started again when dropped, unless
/// [`XlShutDown::completed`] was called.
pub struct XlShutDown<'h> {
    host: &'h XenHost,
    name: String,
    config: PathBuf,
    restart: bool,
}

impl XlShutDown<'_> {
    /// The migration completed: the guest stays off (its copy now carries its MACs).
    pub fn completed(mut self) {
        self.restart = false;
    }
}

impl Drop for XlShutDown<'_> {
    fn drop(&mut self) {
        if self.restart {
            start_again(self.host, &self.name, &self.config);
        }
    }
}

/// `xl create CONFIG`, logged, over a new connection when the one there was is lost; a
/// failure is logged for the user to act on.
fn start_again(host: &XenHost, name: &str, config: &Path) {
    tracing::warn!(domain = %name, "starting the source guest again");
    let never = AtomicBool::new(false);
    let limits = Limits {
        deadline: XL_DEADLINE,
        stop: Some(&never),
    };
    let config = config.to_string_lossy();
    let args = ["create", config.as_ref()];
    let result = host.xl(&args, limits).or_else(|error| {
        tracing::warn!(error = %format!("{error:#}"), "connecting again to start the guest");
        host.reconnect()?.xl(&args, limits)
    });
    match result {
        Ok(output) if output.success() => {}
        Ok(output) => tracing::error!(
            domain = %name,
            status = output.status,
            stderr = %output.stderr.trim(),
            "`xl create` failed: start the guest by hand"
        ),
        Err(error) => {
            tracing::error!(domain = %name, error = %format!("{error:#}"), "could not start the guest again: start it by hand");
        }
    }
}

/// Shuts the running guest `name` (configured in `config`) down with `xl shutdown -w`
/// within `timeout`; past it, with `force`, destroys it. When the shutdown fails and the
/// guest is gone all the same, it is started again before the error is returned.
pub fn shut_down<'h>(
    host: &'h XenHost,
    name: &str,
    config: &Path,
    timeout: Duration,
    force: bool,
    stop: &AtomicBool,
) -> Result<XlShutDown<'h>> {
    tracing::info!(domain = %name, ?timeout, "shutting the source guest down");
    let limits = Limits {
        deadline: timeout,
        stop: Some(stop),
    };
    let failure = match host.xl(&["shutdown", "-w", name], limits) {
        Ok(output) if output.success() => None,
        Ok(output) => Some(format!(
            "`xl shutdown -w {name}` exited with {}: {}",
            output.status,
            output.stderr.trim()
        )),
        Err(error) => Some(format!("{error:#}")),
    };
    if let Some(failure) = failure {
        let gone = !host.domain_exists(name, stop).unwrap_or(true);
        if force && !gone {
            tracing::warn!(domain = %name, "no clean shutdown in time: `xl destroy`, as asked");
            let limits = Limits {
                deadline: XL_DEADLINE,
                stop: Some(stop),
            };
            let output = host.xl(&["destroy", name], limits)?;
            if !output.success() {
                bail!(
                    "`xl destroy {name}` exited with {}: {}",
                    output.status,
                    output.stderr.trim()
                );
            }
        } else {
            if gone {
                start_again(host, name, config);
            }
            let hint = if force {
                ""
            } else {
                " (give --force-shutdown for `xl destroy` after the deadline)"
            };
            bail!(
                "guest `{name}` did not shut down cleanly within {} s{hint}: {failure}",
                timeout.as_secs()
            );
        }
    }
    Ok(XlShutDown {
        host,
        name: name.to_owned(),
        config: config.to_owned(),
        restart: true,
    })
}
