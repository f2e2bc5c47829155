//! The JSON front of [`plan`]: one document in, the plan out (what `examples/plan.rs` and
//! scripts use).

use std::collections::HashSet;

use jiff::Timestamp;
use serde::Deserialize;

use crate::backup::{Backup, BackupState};
use crate::error::{Result, RetentionError};
use crate::plan::plan;
use crate::policy::Policy;
use crate::time::BackupTime;

/// The input document.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    policy: Policy,
    backups: Vec<InputBackup>,
    #[serde(default)]
    now: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputBackup {
    id: String,
    time: String,
    state: BackupState,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    parent: Option<String>,
}

/// Plans from a JSON document and returns the plan as pretty-printed JSON.
///
/// Input: `{"policy": {...}, "backups": [{"id": "...", "time": "<RFC 3339 with offset>",
/// "state": "complete" | "incomplete" | "protected", "tags": [...], "parent": "<id>" | null}]}`
/// where the policy keys are those of [`Policy`], plus an optional key `"now"` (RFC 3339;
/// what `max_age_days` counts from; default: the time of the newest backup, so that the
/// output depends on the input alone). `tags` and `parent` may be omitted.
///
/// Output: `{"decisions": [{"id": "...", "keep": true | false, "reasons": ["...", ...]}]}`,
/// newest first.
///
/// Unknown keys, malformed times and durations, and repeated ids are errors naming the
/// field (or the line and column for JSON syntax and shape errors).
pub fn plan_json(input: &str) -> Result<String> {
    let input: Input = serde_json::from_str(input).map_err(|e| {
        RetentionError::invalid(
            format!("input line {} column {}", e.line(), e.column()),
            strip_position(&e),
        )
    })?;
    let mut seen = HashSet::new();
    let mut backups = Vec::with_capacity(input.backups.len());
    for (index, b) in input.backups.into_iter().enumerate() {
        let time: BackupTime = b.time.parse().map_err(|e: RetentionError| {
            RetentionError::invalid(format!("backups[{index}].time"), e.to_string())
        })?;
        if !seen.insert(b.id.clone()) {
            return Err(RetentionError::invalid(
                format!("backups[{index}].id"),
                format!("`{}` appears more than once", b.id),
            ));
        }
        let mut backup = Backup::new(b.id, time, b.state).with_tags(b.tags);
        backup.parent = b.parent;
        backups.push(backup);
    }
    let now = match input.now {
        Some(now) => now
            .parse::<BackupTime>()
            .map_err(|e| RetentionError::invalid("now", e.to_string()))?
            .timestamp(),
        None => backups
            .iter()
            .map(|b| b.time.timestamp())
            .max()
            .unwrap_or(Timestamp::UNIX_EPOCH),
    };
    let plan = plan(&backups, &input.policy, now);
    Ok(serde_json::to_string_pretty(&plan).expect("a plan always serializes"))
}

/// `serde_json`'s message without its trailing " at line L column C" (the location says it).
fn strip_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn run(input: &Value) -> Value {
        serde_json::from_str(&plan_json(&input.to_string()).unwrap()).unwrap()
    }

    #[test]
    fn plans_the_documented_example() {
        let out = run(&json!({
            "policy": {"keep_daily": 2},
            "backups": [
                {"id": "a", "time": "2026-11-20T01:00:00+01:00", "state": "complete"},
                {"id": "b", "time": "2026-11-21T01:00:00+01:00", "state": "complete", "tags": ["x"]},
                {"id": "c", "time": "2026-11-22T01:00:00+01:00", "state": "incomplete", "parent": "b"},
                {"id": "d", "time": "2026-11-19T01:00:00+01:00", "state": "complete", "parent": null}
            ]
        }));
        assert_eq!(
            out,
            json!({"decisions": [
                {"id": "c", "keep": true, "reasons": ["incomplete, newer than the newest complete backup"]},
                {"id": "b", "keep": true, "reasons": ["daily snapshot", "newest complete backup", "parent of c"]},
                {"id": "a", "keep": true, "reasons": ["daily snapshot"]},
                {"id": "d", "keep": false, "reasons": ["no keep rule matches"]}
            ]})
        );
    }

    #[test]
    fn the_now_key_is_honoured() {
        let input = |extra: Value| {
            let mut doc = json!({
                "policy": {"keep_last": 3, "max_age_days": 2},
                "backups": [
                    {"id": "old", "time": "2026-11-01T00:00:00Z", "state": "complete"},
                    {"id": "mid", "time": "2026-11-02T00:00:00Z", "state": "complete"},
                    {"id": "new", "time": "2026-11-03T00:00:00Z", "state": "complete"}
                ]
            });
            doc.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            run(&doc)
        };
        let kept = |out: Value| -> Vec<String> {
            out["decisions"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["keep"] == true)
                .map(|d| d["id"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(kept(input(json!({}))), ["new", "mid", "old"]);
        // Seen from a week later, only the newest complete backup survives max_age_days.
        let late = input(json!({"now": "2026-11-10T00:00:00Z"}));
        assert_eq!(kept(late.clone()), ["new"]);
        assert_eq!(
            late["decisions"][0]["reasons"],
            json!(["older than max age 2 days", "newest complete backup"])
        );
    }

    #[test]
    fn invalid_input_names_the_problem() {
        for (input, want) in [
            ("{", "input line 1 column 1: EOF while parsing"),
            (r#"{"policy": {}}"#, "missing field `backups`"),
            (
                r#"{"policy": {"keep_dayly": 1}, "backups": []}"#,
                "unknown field `keep_dayly`",
            ),
            (
                r#"{"policy": {}, "backups": [], "extra": 1}"#,
                "unknown field `extra`",
            ),
            (
                r#"{"policy": {}, "backups": [{"id": "a", "time": "2026-01-01T00:00:00Z", "state": "done"}]}"#,
                "unknown variant `done`",
            ),
            (
                r#"{"policy": {}, "backups": [{"id": "a", "time": "2026-01-01T00:00:00", "state": "complete"}]}"#,
                "backups[0].time: time `2026-01-01T00:00:00`: no UTC offset",
            ),
            (
                r#"{"policy": {}, "backups": [{"id": "a", "time": "2026-01-01T00:00:00Z", "state": "complete"}, {"id": "a", "time": "2026-01-02T00:00:00Z", "state": "complete"}]}"#,
                "backups[1].id: `a` appears more than once",
            ),
            (
                r#"{"policy": {}, "backups": [], "now": "soon"}"#,
                "now: time `soon`",
            ),
            (
                r#"{"policy": {"keep_within": "2w"}, "backups": []}"#,
                "unknown unit `w`",
            ),
        ] {
            let err = plan_json(input).unwrap_err().to_string();
            assert!(err.contains(want), "{input}: {err}");
        }
    }

    #[test]
    fn empty_input_gives_an_empty_plan() {
        assert_eq!(
            run(&json!({"policy": {}, "backups": []})),
            json!({"decisions": []})
        );
    }
}
