use std::io::Write;
use std::process::{Command, Stdio};

use super::*;

#[test]
fn plain_names_follow_naubackups_rule() {
    for plain in [
        "DEV-mySql",
        "DEV mySql",
        "my_vm-2",
        "Sérveur Ünïcode",
        "数据库",
        "0f6a2c1e-3b7d-4e1f-9a6b-2c8d1e0f3a5b",
    ] {
        assert!(is_plain_name(plain), "{plain}");
        assert!(
            matches!(Selector::parse(plain), Ok(Selector::Name(_))),
            "{plain}"
        );
    }
    for pattern in [
        "",
        "PROD.*",
        "DEV-RH.*",
        "web.example",
        "a+b",
        "x:y",
        "it's",
    ] {
        assert!(!is_plain_name(pattern), "{pattern}");
    }
}

#[test]
fn translates_python_syntax() {
    for (python, regex) in [
        ("PROD.*", "PROD.*"),
        (r"PRD-PRINT$", r"PRD-PRINT$"),
        (r"end\Z", r"end\z"),
        (r"\<tag\>", r"<tag>"),
        (r"a\_b\-c\:d", r"a_b-c:d"),
        (r"a\.b", r"a\.b"),
        (r"x{2}y{2,}z{,3}w{1,4}", r"x{2}y{2,}z{0,3}w{1,4}"),
        (r"a{,}", r"a{0,}"),
        (r"a{b}c{", r"a\{b\}c\{"),
        (r"a{}", r"a\{\}"),
        (r"[]a]", r"[\]a]"),
        (r"[^]a]", r"[^\]a]"),
        (r"[[a]", r"[\[a]"),
        (r"[a&&b~~c]", r"[a\&\&b\~\~c]"),
        (r"[\b]", r"[\x08]"),
        (r"[\d{1,}]$", r"[\d{1,}]$"),
        (r"a(?#comment)b", r"ab"),
        (r"(?P<x>a)|b", r"(?P<x>a)|b"),
        (r"\0\012", r"\x{0}\x{A}"),
        (r"a]b}", r"a\]b\}"),
    ] {
        assert_eq!(translate(python).as_deref(), Ok(regex), "{python}");
    }
}

#[test]
fn unsupported_and_invalid_patterns_say_why() {
    for (python, why) in [
        (r"PROD(?=-db)", "look-around"),
        (r"PROD(?!-db)", "look-around"),
        (r"(?<=x)y", "look-around"),
        (r"(?<!x)y", "look-around"),
        (r"(a)\1", "backreference"),
        (r"(?P<n>a)(?P=n)", "backreference"),
        (r"(a)?(?(1)b|c)", "conditional"),
        (r"\N{DASH}", "named character"),
        (r"PRD-[aA.*", "unterminated character set"),
        (r"abc\", "lone backslash"),
        (r"\q", "bad escape"),
        (r"a(?#open", "unterminated comment"),
        (r"PRD-(a", "invalid regular expression"),
        (r"*a", "invalid regular expression"),
        (r"a++", "possessive"),
        (r"a{2}+b", "possessive"),
        (r"(?>a)", "atomic group"),
    ] {
        let err = Pattern::new(python).unwrap_err();
        assert!(err.contains(why), "{python}: {err}");
        assert!(err.contains(python), "{python}: {err}");
    }
}

/// Names and patterns for the comparison with Python's own `re.match`.
const NAMES: &[&str] = &[
    "PROD-ubuntu14",
    "PROD-ubuntu12-benchmark",
    "PROD-CentOS7-large-user-disks",
    "PROD-WinSvr",
    "DEV-RH6",
    "DEV-RH7",
    "DEV-mySql",
    "DEV mySql",
    "DEV-web3",
    "DEV-web-TEST-1",
    "DEV-app-test",
    "DEV-VxTEMP",
    "DEV-VxTEMPx",
    "PRD-PRINT",
    "PRD-PRINTER1",
    "PRD-a",
    "PRD-aa",
    "PRD-Test",
    "PRD-",
    "PRD-office-print4",
    "PRD-office-print7",
    "PRD-office-print9",
    "PRD-x-print1",
    "PRD-x-print{1}",
    "backupSAVE",
    "SAVEbackup",
    "a{b}",
    "[x]",
    "Sérveur-1",
    "tag<1>",
    "",
];

const PATTERNS: &[&str] = &[
    "PROD.*",
    "DEV-RH.*",
    "DEV.*",
    "PRD-PRINT$",
    "PRD-a.*",
    "PRD-a*",
    "DEV-V.*TEMP$",
    "DEV-.*(TEST|test).*",
    "DEV-.*[Tt]est.*",
    ".*SAVE$",
    "PRD-.*print[4-5]$",
    "PRD-.*print[6-8]$",
    r"PRD-.*print[\d{1,}]$",
    "PROD-ubuntu12.benchmark",
    ".*",
    "^DEV",
    r"DEV\Z",
    r"DEV-RH\d\Z",
    "a{b}",
    "a{,1}",
    r"\[x]",
    "[[]x",
    "S.rveur",
    r"\w+-\d",
    r"tag\<1\>",
    "(?i)prod-",
    "DEV( |-)my",
];

#[test]
fn matches_exactly_as_pythons_re_match() {
    let script = r"
import json, re, sys
data = json.load(sys.stdin)
print(json.dumps([[bool(re.match(p, n)) for n in data['names']] for p in data['patterns']]))
";
    let input = format!(
        "{{\"names\": {}, \"patterns\": {}}}",
        serde_json::to_string(NAMES).unwrap(),
        serde_json::to_string(PATTERNS).unwrap()
    );
    let mut child = Command::new("python3")
        .args(["-W", "ignore", "-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): apt-get install python3"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "python3 failed");
    let python: Vec<Vec<bool>> = serde_json::from_slice(&output.stdout).unwrap();
    let mut differences = Vec::new();
    for (pattern, expected) in PATTERNS.iter().zip(&python) {
        let ours = Pattern::new(pattern).unwrap();
        for (name, &want) in NAMES.iter().zip(expected) {
            if ours.matches(name) != want {
                differences.push(format!("re.match({pattern:?}, {name:?}) is {want}"));
            }
        }
    }
    assert!(differences.is_empty(), "{differences:#?}");
    // The comparison is not vacuous: the README's examples select what it says.
    let hits = |p: &str| {
        let p = Pattern::new(p).unwrap();
        NAMES.iter().filter(|n| p.matches(n)).count()
    };
    assert_eq!(
        hits("PRD-a*"),
        11,
        "PRD-a* also matches PRD-Test (zero `a`s)"
    );
    assert_eq!(hits("PRD-a.*"), 2);
}
