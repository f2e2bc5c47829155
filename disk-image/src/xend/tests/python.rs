//! Python itself as the oracle: every value the literal parser reads must equal what Python gets by
//! executing the same file, as xend did.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Command;

use super::super::lexer::tokenize;
use super::super::literal::{Value, assignments};
use super::real_world::{HAND_WRITTEN_PV, STACKLET_CENTOS, WINDOWS_HVM, XEN_TOOLS_PV};

/// Literal spellings beyond the real-world files (Python 3 compatible, as the oracle is).
const LITERALS: &str = r#"# every literal form the parser accepts
plain = 'single' "double"
escapes = "tab\there\nnew \\ back \'q\' \x41\101 \u00e9 \U0001F600 \q"
raw = r'C:\dir\'x' R"\d+"
unicode = u'caf\xe9'
triple = '''one
'two' "three"
four'''
joined = ('a'
          "b"  # comment between parts
          '''c''')
continued = 'x' \
    'y'
numbers = [0, 42, -7, + 3, 0x2A, 0o52, 0b101010, 1.5, -0.5, .25, 1e-3]
nested = [('a', 1), [], (), ['b', [None, True, False]],]
single = ('only')
one_tuple = ('only',)
empty_string = ''; semicolon = 1
"#;

/// What Python finds in the globals after executing `text`, one `key=value` line each.
fn python_globals(text: &str) -> String {
    const RENDER: &str = r"
import json, sys
def r(v):
    if isinstance(v, bool): return 'True' if v else 'False'
    if v is None: return 'None'
    if isinstance(v, int): return str(v)
    if isinstance(v, float): return repr(v)
    if isinstance(v, str): return json.dumps(v)
    if isinstance(v, (list, tuple)): return '[' + ','.join(r(x) for x in v) + ']'
    raise SystemExit('unexpected type %r' % type(v))
g = {}
exec(compile(sys.stdin.read(), 'config', 'exec'), g)
for k in sorted(k for k in g if k != '__builtins__'):
    print(k + '=' + r(g[k]))
";
    let mut child = Command::new("python3")
        .args(["-c", RENDER])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 is needed as the oracle of these tests: apt-get install python3");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python3 failed on:\n{text}");
    String::from_utf8(out.stdout).unwrap()
}

/// The same rendering of what the literal parser reads (the last value of each key wins).
fn our_globals(text: &str) -> String {
    let tokens = tokenize(text).unwrap_or_else(|p| panic!("line {}: {}", p.line, p.message));
    let all = assignments(&tokens).unwrap_or_else(|p| panic!("line {}: {}", p.line, p.message));
    let last: BTreeMap<String, Value> = all.into_iter().map(|a| (a.key, a.value.value)).collect();
    last.iter().fold(String::new(), |mut out, (key, value)| {
        writeln!(out, "{key}={}", render(value)).unwrap();
        out
    })
}

fn render(value: &Value) -> String {
    match value {
        Value::Str(s) => json_string(s),
        Value::Int(n) => n.to_string(),
        Value::Float(f) => format!("{f:?}"),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::None => "None".to_owned(),
        Value::List(items) => {
            let parts: Vec<String> = items.iter().map(|i| render(&i.value)).collect();
            format!("[{}]", parts.join(","))
        }
    }
}

/// `s` as Python's `json.dumps` writes it (ASCII only).
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(out, "\\u{unit:04x}").unwrap();
                }
            }
        }
    }
    out.push('"');
    out
}

#[test]
fn the_literal_parser_reads_what_python_executes() {
    for text in [
        LITERALS,
        XEN_TOOLS_PV,
        STACKLET_CENTOS,
        WINDOWS_HVM,
        HAND_WRITTEN_PV,
    ] {
        let ours = our_globals(text);
        assert!(ours.lines().count() >= 8, "{ours}");
        assert_eq!(ours, python_globals(text), "on:\n{text}");
    }
}
