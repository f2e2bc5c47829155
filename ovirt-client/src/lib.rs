//! oVirt Engine REST API v4 client.

pub mod connection;
pub mod error;
pub mod tls;
pub mod types;
pub mod xml;

pub use connection::{AuthMethod, ConnectOptions, Connection, PollPolicy, Query, RetryPolicy};
pub use error::{OvirtError, Result};
pub use tls::{Fingerprint, Trust};
pub mod imageio;
