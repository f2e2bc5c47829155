//! `lvmbackup prune`: retention over whole chains (`BM_ARCHIVE_TTL` and the settings' rules);
//! `--dry-run` prints the plan and removes nothing.

use std::io::Write as _;

use clap::Args;
use cli_common::Outcome;
use lvmbackup::config::Config;
use serde::Serialize;

/// `prune`'s flags.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Print what would be removed, and why; remove nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    dry_run: bool,
    plans: &'a [lvmbackup::repository::VolumePlan],
    removed: &'a [std::path::PathBuf],
}

/// Prunes the repository.
pub fn run(config: &Config, args: &PruneArgs, json: bool) -> anyhow::Result<Outcome> {
    let repository = super::repository(config);
    let plans = repository.plan(&config.policy(), super::today())?;
    let removed = repository.prune(&plans, args.dry_run)?;
    if json {
        cli_common::print_json(&Report {
            dry_run: args.dry_run,
            plans: &plans,
            removed: &removed,
        })?;
        return Ok(Outcome::Success);
    }
    let mut out = cli_common::Stdout::lock();
    for plan in &plans {
        writeln!(out, "{}{}:", repository.prefix(), plan.dir)?;
        for decision in &plan.plan.decisions {
            let verb = match (decision.keep, args.dry_run) {
                (true, _) => "keep",
                (false, true) => "would remove",
                (false, false) => "removed",
            };
            writeln!(
                out,
                "  {verb:<12}  {}  ({})",
                decision.id,
                decision.reasons.join("; ")
            )?;
        }
    }
    Ok(Outcome::Success)
}
