//! Plans retention from JSON: reads `{"policy": {...}, "backups": [...]}` on stdin and
//! prints `{"decisions": [...]}` on stdout (see `retention::plan_json` for the format).
//! Exit status 2, with the reason on stderr, when the input is invalid.
//!
//! `cargo run -q -p retention --example plan < input.json`

use std::io::Read;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("plan: cannot read stdin: {e}");
        return ExitCode::from(2);
    }
    match retention::plan_json(&input) {
        Ok(plan) => {
            println!("{plan}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("plan: invalid input: {e}");
            ExitCode::from(2)
        }
    }
}
