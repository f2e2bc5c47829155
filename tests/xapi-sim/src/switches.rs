//! The binary's fault switches (`--fail-call`, `--cut`, `--stall`, …): the library's
//! [`Faults`] knobs as command-line values, parsed and then armed on the running pool.

use std::time::Duration;

use xapi_sim::{Endpoint, Faults, TransferFault};

/// One fault asked for on the command line.
#[derive(Debug, Clone, PartialEq)]
pub enum Switch {
    /// `--fail-call METHOD[:N]=CODE[,PARAM…]`.
    FailCall {
        /// RPC method (without `Async.`) or endpoint path.
        method: String,
        /// Which call fails (1: the next).
        nth: u64,
        /// XAPI's error: code, then parameters.
        error: Vec<String>,
    },
    /// `--cut`, `--stall`, `--corrupt-chunk`, `--error-in-body`: a one-shot transfer fault.
    Transfer(Endpoint, TransferFault),
    /// `--redirect ENDPOINT`.
    Redirect(Endpoint),
    /// `--keepalive-chunks N`.
    KeepaliveChunks(u64),
    /// `--async-delay SECONDS`.
    AsyncDelay(Duration),
}

impl Switch {
    /// Turns this knob on `faults`.
    pub fn arm(&self, faults: &Faults) {
        match self {
            Switch::FailCall { method, nth, error } => {
                let error: Vec<&str> = error.iter().map(String::as_str).collect();
                faults.fail_call(method, *nth, &error);
            }
            Switch::Transfer(endpoint, fault) => faults.transfer(*endpoint, fault.clone()),
            Switch::Redirect(endpoint) => faults.redirect(*endpoint, true),
            Switch::KeepaliveChunks(every) => faults.keepalive_chunks(Some(*every)),
            Switch::AsyncDelay(delay) => faults.async_delay(*delay),
        }
    }
}

/// `METHOD[:N]=CODE[,PARAM…]`: `VM.snapshot=SR_FULL`, `/export:2=VDI_IN_USE,OpaqueRef:x`.
pub fn fail_call(text: &str) -> Result<Switch, String> {
    let (target, error) = text
        .split_once('=')
        .ok_or("expected METHOD[:N]=CODE[,PARAM...]")?;
    let (method, nth) = match target.rsplit_once(':') {
        Some((method, nth)) => (method, number(nth)?),
        None => (target, 1),
    };
    let error: Vec<String> = error.split(',').map(str::to_owned).collect();
    if method.is_empty() || nth == 0 || error[0].is_empty() {
        return Err("expected METHOD[:N]=CODE[,PARAM...] with N from 1".to_owned());
    }
    Ok(Switch::FailCall {
        method: method.to_owned(),
        nth,
        error,
    })
}

/// `ENDPOINT:BYTES`: cut the next transfer after that many body bytes.
pub fn cut(text: &str) -> Result<Switch, String> {
    let (endpoint, bytes) = text.split_once(':').ok_or("expected ENDPOINT:BYTES")?;
    Ok(Switch::Transfer(
        self::endpoint(endpoint)?,
        TransferFault::Cut {
            after_bytes: number(bytes)?,
        },
    ))
}

/// `ENDPOINT:BYTE:SECONDS`: pause the next transfer once at that body byte.
pub fn stall(text: &str) -> Result<Switch, String> {
    let mut parts = text.splitn(3, ':');
    let (Some(endpoint), Some(at), Some(seconds)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err("expected ENDPOINT:BYTE:SECONDS".to_owned());
    };
    Ok(Switch::Transfer(
        self::endpoint(endpoint)?,
        TransferFault::Stall {
            at_byte: number(at)?,
            duration: self::seconds(seconds)?,
        },
    ))
}

/// `DISK:CHUNK`: flip a byte in that chunk of the next `/export`.
pub fn corrupt_chunk(text: &str) -> Result<Switch, String> {
    let (disk, chunk) = text.split_once(':').ok_or("expected DISK:CHUNK")?;
    Ok(Switch::Transfer(
        Endpoint::Export,
        TransferFault::CorruptChunk {
            disk: usize::try_from(number(disk)?).map_err(|e| e.to_string())?,
            chunk: number(chunk)?,
        },
    ))
}

/// `ENDPOINT`: answer the next transfer `200` with a whole `HTTP/1.1 500` in the body.
pub fn error_in_body(text: &str) -> Result<Switch, String> {
    Ok(Switch::Transfer(
        endpoint(text)?,
        TransferFault::ErrorInBody,
    ))
}

/// `ENDPOINT`: answer its transfers with a `302` to the slave.
pub fn redirect(text: &str) -> Result<Switch, String> {
    Ok(Switch::Redirect(endpoint(text)?))
}

/// `N` (from 1): a keep-alive chunk after every N chunks of `/export`.
pub fn keepalive_chunks(text: &str) -> Result<Switch, String> {
    match number(text)? {
        0 => Err("N must be 1 or more".to_owned()),
        every => Ok(Switch::KeepaliveChunks(every)),
    }
}

/// `SECONDS` (fractions allowed): the delay of every `Async.*` call.
pub fn async_delay(text: &str) -> Result<Switch, String> {
    Ok(Switch::AsyncDelay(seconds(text)?))
}

fn endpoint(text: &str) -> Result<Endpoint, String> {
    Endpoint::from_path(text).ok_or_else(|| {
        format!(
            "`{text}` is not an endpoint (one of /export, /export_metadata, /export_raw_vdi, \
             /import, /import_raw_vdi, /pool/xmldbdump)"
        )
    })
}

fn number(text: &str) -> Result<u64, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a whole number"))
}

fn seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("`{text}` is not a number of seconds"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_parse_into_knobs() {
        assert_eq!(
            fail_call("/export:2=VDI_IN_USE,OpaqueRef:x").unwrap(),
            Switch::FailCall {
                method: "/export".into(),
                nth: 2,
                error: vec!["VDI_IN_USE".into(), "OpaqueRef:x".into()]
            }
        );
        assert!(matches!(
            fail_call("VM.snapshot=SR_FULL").unwrap(),
            Switch::FailCall { nth: 1, .. }
        ));
        assert!(fail_call("VM.snapshot").is_err());
        assert!(fail_call("VM.snapshot:0=X").is_err());
        assert_eq!(
            cut("/export:1000").unwrap(),
            Switch::Transfer(Endpoint::Export, TransferFault::Cut { after_bytes: 1000 })
        );
        assert_eq!(
            stall("/import:0:1.5").unwrap(),
            Switch::Transfer(
                Endpoint::Import,
                TransferFault::Stall {
                    at_byte: 0,
                    duration: Duration::from_millis(1500)
                }
            )
        );
        assert!(cut("/nowhere:1").unwrap_err().contains("not an endpoint"));
        assert!(keepalive_chunks("0").is_err());
        assert!(async_delay("-1").is_err());
        assert_eq!(
            corrupt_chunk("1:3").unwrap(),
            Switch::Transfer(
                Endpoint::Export,
                TransferFault::CorruptChunk { disk: 1, chunk: 3 }
            )
        );
    }
}
