//! Inspects a guest image and prints the plan for a conversion (read-only), or applies it.
//!
//! ```text
//! cargo run -p guest-fixup --example inspect_plan -- xen-pv->kvm-virtio disk.img
//! cargo run -p guest-fixup --example inspect_plan -- --apply --no-initramfs --root /tmp/g xen-pv->kvm-virtio disk.img
//! ```
//! It prints the distribution, kernels, boot loaders and consoles found, then the plan as a
//! unified diff, and the time each phase took on standard error.

use std::path::PathBuf;
use std::time::Instant;

use guest_fixup::{Direction, FixOptions, PlanOptions, fix};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut take_flag = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .map(|i| args.remove(i))
            .is_some()
    };
    let apply = take_flag("--apply");
    let no_initramfs = take_flag("--no-initramfs");
    let root = match args.iter().position(|a| a == "--root") {
        Some(i) if i + 1 < args.len() => {
            let root = args.remove(i + 1);
            args.remove(i);
            PathBuf::from(root)
        }
        _ => std::env::temp_dir().join(format!("guest-fixup-example-{}", std::process::id())),
    };
    let (Some(direction), disks) = (args.first(), &args[1.min(args.len())..]) else {
        return Err(
            "usage: inspect_plan [--apply] [--no-initramfs] [--root DIR] DIRECTION IMAGE...".into(),
        );
    };
    let direction: Direction = direction.parse()?;
    let disks: Vec<PathBuf> = disks.iter().map(PathBuf::from).collect();
    let options = FixOptions {
        plan: PlanOptions {
            rebuild_initramfs: !no_initramfs,
            ..PlanOptions::default()
        },
        dry_run: !apply,
        root: root.clone(),
    };
    let start = Instant::now();
    let report = fix(&disks, &direction, &options)?;
    let elapsed = start.elapsed();
    let _ = std::fs::remove_dir(&root);
    let os = &report.inspection.os;
    println!("# {} ({}, {:?} family)", os.name, os.id, os.family);
    for kernel in &report.inspection.kernels {
        println!(
            "# kernel {}{}: initramfs {}",
            kernel.version,
            if kernel.xen_only { " (Xen only)" } else { "" },
            kernel.initramfs
        );
    }
    for loader in &report.inspection.bootloaders {
        println!("# boot loader {:?}: {}", loader.kind, loader.config);
    }
    println!("# consoles: {}", report.inspection.consoles.join(" "));
    print!("{}", report.plan.diff());
    eprintln!(
        "{} in {:.2} s",
        if apply {
            "open, inspect, plan, apply, close"
        } else {
            "open, inspect, plan, close"
        },
        elapsed.as_secs_f64()
    );
    Ok(())
}
