//! One entry of the `vif` list: comma-separated `key=value` settings such as
//! `mac=00:16:3e:12:34:56,bridge=xenbr0`; the empty entry `''` is an interface with defaults.

use super::Problem;
use crate::spec::VifSpec;

/// One entry of the `vif` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XendVif {
    /// The line the entry is on.
    pub line: usize,
    /// `mac`, validated and in lower case.
    pub mac: Option<String>,
    /// `bridge`.
    pub bridge: Option<String>,
}

/// Settings with no XenServer counterpart that are expected and need no remark.
#[rustfmt::skip]
const QUIET: [&str; 8] = [
    "ip", "vifname", "model", "type", "devid", "uuid", "trusted", "untrusted",
];
/// Settings known to xm or xl that do not carry over and deserve a remark.
#[rustfmt::skip]
const NOTED: [&str; 11] = [
    "rate", "backend", "accel", "policy", "label", "mtu", "vlan", "gatewaydev", "netdev",
    "forwarddev", "script",
];

/// Parses the entry `entry` found on `line`.
pub(super) fn parse_entry(
    entry: &str,
    line: usize,
    warnings: &mut Vec<String>,
) -> Result<XendVif, Problem> {
    let bad = |why: String| Problem::new(line, format!("vif entry '{entry}': {why}"));
    let mut vif = XendVif {
        line,
        mac: None,
        bridge: None,
    };
    for setting in entry.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((key, value)) = setting.split_once('=') else {
            if QUIET.contains(&setting) {
                continue; // xl's `trusted` / `untrusted` flags.
            }
            return Err(bad(format!("`{setting}` is not a key=value setting")));
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "mac" => {
                vif.mac = Some(VifSpec::parse_mac(value).ok_or_else(|| {
                    bad(format!(
                        "`{value}` is not a MAC address (six hex pairs such as 00:16:3e:1a:2b:3c)"
                    ))
                })?);
            }
            "bridge" if value.is_empty() => return Err(bad("`bridge` is empty".to_owned())),
            "bridge" => vif.bridge = Some(value.to_owned()),
            "script" if value.ends_with("vif-bridge") => {}
            key if QUIET.contains(&key) => {}
            key if NOTED.contains(&key) => warnings.push(format!(
                "line {line}: vif setting `{setting}` does not carry over to XenServer"
            )),
            key => return Err(bad(format!("unknown setting `{key}`"))),
        }
    }
    Ok(vif)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(entry: &str) -> Result<XendVif, Problem> {
        parse_entry(entry, 4, &mut Vec::new())
    }

    #[test]
    fn entries() {
        let vif = parse("mac=00:16:3E:74:3d:76, bridge=xenbr1, model=e1000, type=ioemu").unwrap();
        assert_eq!(vif.mac.as_deref(), Some("00:16:3e:74:3d:76"));
        assert_eq!(vif.bridge.as_deref(), Some("xenbr1"));
        let vif = parse("").unwrap();
        assert_eq!((vif.mac, vif.bridge, vif.line), (None, None, 4));
        let vif =
            parse("ip=10.0.0.5,vifname=web0,script=/etc/xen/scripts/vif-bridge,trusted").unwrap();
        assert_eq!((vif.mac, vif.bridge), (None, None));
    }

    #[test]
    fn unusual_settings_warn() {
        let mut warnings = Vec::new();
        parse_entry("rate=10Mb/s,script=vif-route,bridge=br0", 9, &mut warnings).unwrap();
        assert_eq!(
            warnings,
            [
                "line 9: vif setting `rate=10Mb/s` does not carry over to XenServer",
                "line 9: vif setting `script=vif-route` does not carry over to XenServer",
            ]
        );
    }

    #[test]
    fn bad_entries() {
        let cases = [
            ("mac=00:16:3e:00:00", "is not a MAC address"),
            ("mac=00:16:3e:00:00:0g", "is not a MAC address"),
            ("mac=0016.3e00.0001", "is not a MAC address"),
            ("mac=00:16:3e:00:00:001", "is not a MAC address"),
            ("xenbr0", "`xenbr0` is not a key=value setting"),
            ("bridge=", "`bridge` is empty"),
            ("colour=blue", "unknown setting `colour`"),
        ];
        for (entry, needle) in cases {
            let err = parse(entry).unwrap_err();
            assert_eq!(err.line, 4);
            assert!(
                err.message.contains(&format!("'{entry}'")),
                "{}",
                err.message
            );
            assert!(err.message.contains(needle), "{entry}: {}", err.message);
        }
    }
}
