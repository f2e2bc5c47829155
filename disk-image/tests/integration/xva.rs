//! XVA: raw -> XVA -> raw round trips, our archives read by independent tools (GNU tar,
//! Python's tarfile, Debian's xva-img, sha1sum, xxh64sum), archives shaped like XAPI's own
//! (gaps, keep-alive chunks, `.xxhash`, `Ref:10` before `Ref:2`) read back, and damaged
//! archives refused with errors that name the member.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use disk_image::compress::{Codec, CompressWriter};
use disk_image::xva::{XvaOptions, XvaReader, ova_xml, write_archive, write_xva};
use disk_image::{
    ChecksumKind, DiskImageError, DiskInput, DiskSpec, FileDisk, NoProgress, PaddedDisk,
    RawFileSink, StreamDisk, VmSpec,
};

use super::support::{
    MIB, SHAPES, Shape, XorShift, assert_same_bytes, make_raw, run, run_ok, spawn, text,
};

fn spec_for(paths: &[PathBuf]) -> VmSpec {
    let mut spec = VmSpec::new("test vm");
    spec.disks = paths
        .iter()
        .map(|path| DiskSpec {
            path: path.clone(),
            device: None,
            writable: true,
        })
        .collect();
    spec
}

/// Builds an XVA of the raw images `paths` at `out`.
fn build(paths: &[PathBuf], out: &Path, checksum: ChecksumKind) -> disk_image::xva::XvaSummary {
    let disks: Vec<FileDisk> = paths.iter().map(|p| FileDisk::open(p).unwrap()).collect();
    let inputs = disks.iter().map(|d| DiskInput::Random(d)).collect();
    let mut file = File::create(out).unwrap();
    let options = XvaOptions {
        checksum,
        workers: 2,
        xapi_keepalive_every: None,
    };
    write_xva(
        &spec_for(paths),
        inputs,
        &mut file,
        "out",
        &options,
        &NoProgress,
    )
    .unwrap()
}

/// Reads every disk of the XVA at `xva` into raw files `<dir>/disk<N>.raw` (archive order).
fn extract_all(xva: &Path, dir: &Path) -> Vec<PathBuf> {
    let (mut reader, _) = XvaReader::open_path(xva).unwrap();
    let mut outputs = Vec::new();
    while reader.next_disk().is_some() {
        let path = dir.join(format!("disk{}.raw", outputs.len()));
        let file = File::create(&path).unwrap();
        let mut sink = RawFileSink::new(&file, "out");
        reader
            .read_disk(Some(&mut sink), true, &NoProgress)
            .unwrap()
            .unwrap();
        outputs.push(path);
    }
    reader.finish().unwrap();
    outputs
}

fn os<'a>(args: &[&'a str]) -> Vec<&'a OsStr> {
    args.iter().map(|a| OsStr::new(*a)).collect()
}

#[test]
fn every_shape_round_trips_with_both_checksums() {
    let dir = tempfile::tempdir().unwrap();
    for (name, shape) in SHAPES {
        let raw = dir.path().join(format!("{name}.raw"));
        make_raw(&raw, shape);
        for checksum in [ChecksumKind::Sha1, ChecksumKind::Xxhash] {
            let xva = dir.path().join(format!("{name}-{checksum}.xva"));
            let summary = build(std::slice::from_ref(&raw), &xva, checksum);
            assert_eq!(
                summary.disks[0].chunks,
                expected_chunks(shape),
                "{name}: chunks written"
            );
            let out_dir = dir.path().join(format!("{name}-{checksum}"));
            fs::create_dir(&out_dir).unwrap();
            let extracted = extract_all(&xva, &out_dir);
            assert_same_bytes(&raw, &extracted[0]);
            fs::remove_dir_all(&out_dir).unwrap();
            fs::remove_file(&xva).unwrap();
        }
        fs::remove_file(&raw).unwrap();
    }
}

/// Chunks an XVA of `shape` must hold: every 1 MiB chunk with a non-zero byte, plus the
/// first and the last.
fn expected_chunks(shape: &Shape) -> u64 {
    let count = shape.size.div_ceil(MIB);
    let mut chunks: std::collections::BTreeSet<u64> = [0, count - 1].into();
    for &(start, len) in shape.data {
        chunks.extend(start / MIB..=(start + len - 1) / MIB);
    }
    chunks.len() as u64
}

#[test]
fn a_stream_source_gives_the_same_archive_content() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("d.raw");
    make_raw(&raw, &SHAPES[2].1);
    let size = fs::metadata(&raw).unwrap().len();
    let mut stream = StreamDisk::new(File::open(&raw).unwrap(), size, "http body");
    let xva = dir.path().join("s.xva");
    let mut out = File::create(&xva).unwrap();
    let spec = spec_for(std::slice::from_ref(&raw));
    write_xva(
        &spec,
        vec![DiskInput::Stream(&mut stream)],
        &mut out,
        "s",
        &XvaOptions::default(),
        &NoProgress,
    )
    .unwrap();
    let extracted = extract_all(&xva, dir.path());
    assert_same_bytes(&raw, &extracted[0]);
}

#[test]
fn independent_readers_accept_our_archives() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.raw"), dir.path().join("b.raw"));
    make_raw(&a, &SHAPES[2].1);
    make_raw(&b, &SHAPES[5].1);
    let xva = dir.path().join("vm.xva");
    build(&[a.clone(), b.clone()], &xva, ChecksumKind::Sha1);
    let xva_arg = xva.to_str().unwrap();

    // GNU tar: ova.xml first, then chunk / checksum pairs, sizes as written.
    let listing = run_ok("tar", "tar", &os(&["-tvf", xva_arg]));
    let names: Vec<&str> = listing
        .lines()
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(names[0], "ova.xml");
    assert!(
        names[1].ends_with("/00000000") && names[2].ends_with("/00000000.checksum"),
        "{listing}"
    );
    assert!(
        listing.lines().nth(2).unwrap().contains(" 40 "),
        "checksums are 40 bytes: {listing}"
    );

    // Python's tarfile agrees on names, order, sizes and types.
    let script = "import sys,tarfile\nfor m in tarfile.open(sys.argv[1]):\n print(m.name, m.size, int(m.isreg()))";
    let python = run_ok("python3", "python3", &os(&["-c", script, xva_arg]));
    let python_names: Vec<&str> = python
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(python_names, names);
    assert!(
        python.lines().all(|l| l.ends_with(" 1")),
        "regular files only: {python}"
    );

    // Every checksum member matches sha1sum of its chunk.
    let unpacked = dir.path().join("unpacked");
    fs::create_dir(&unpacked).unwrap();
    run_ok(
        "tar",
        "tar",
        &os(&["-xf", xva_arg, "-C", unpacked.to_str().unwrap()]),
    );
    for name in names.iter().filter(|n| n.ends_with(".checksum")) {
        let chunk = unpacked.join(name.trim_end_matches(".checksum"));
        let recorded = fs::read_to_string(unpacked.join(name)).unwrap();
        let sum = run_ok("sha1sum", "coreutils", &[chunk.as_os_str()]);
        assert_eq!(recorded, sum.split(' ').next().unwrap(), "{name}");
    }

    // Debian's xva-img reassembles each disk to the same bytes.
    let ids: std::collections::BTreeSet<&str> = names[1..]
        .iter()
        .map(|n| n.split('/').next().unwrap())
        .collect();
    for (id, source) in ids.iter().zip([&a, &b]) {
        let out = dir.path().join(format!("{id}.raw"));
        let disk_dir = unpacked.join(format!("{id}/"));
        let output = run(
            "xva-img",
            "xva-img",
            &[
                OsStr::new("disk-export"),
                disk_dir.as_os_str(),
                out.as_os_str(),
            ],
        );
        assert!(output.status.success(), "xva-img: {}", text(&output));
        assert_same_bytes(source, &out);
    }
}

#[test]
fn xxhash_members_match_xxh64sum_in_upper_case() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("a.raw");
    make_raw(&raw, &SHAPES[4].1);
    let xva = dir.path().join("vm.xva");
    build(std::slice::from_ref(&raw), &xva, ChecksumKind::Xxhash);
    let unpacked = dir.path().join("unpacked");
    fs::create_dir(&unpacked).unwrap();
    run_ok(
        "tar",
        "tar",
        &os(&[
            "-xf",
            xva.to_str().unwrap(),
            "-C",
            unpacked.to_str().unwrap(),
        ]),
    );
    let id_dir = fs::read_dir(&unpacked)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    let mut checked = 0;
    for entry in fs::read_dir(&id_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension() != Some(OsStr::new("xxhash")) {
            continue;
        }
        let recorded = fs::read_to_string(&path).unwrap();
        let sum = run_ok("xxh64sum", "xxhash", &[path.with_extension("").as_os_str()]);
        assert_eq!(recorded, sum.split(' ').next().unwrap().to_uppercase());
        assert_eq!(recorded.len(), 16);
        checked += 1;
    }
    assert_eq!(checked, 9);
}

#[test]
fn compressed_archives_read_back_whatever_compressed_them() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("a.raw");
    make_raw(&raw, &SHAPES[2].1);
    let xva = dir.path().join("vm.xva");
    build(std::slice::from_ref(&raw), &xva, ChecksumKind::Sha1);
    let plain = fs::read(&xva).unwrap();
    // Ours, in process.
    for (compression, name) in [
        (
            Codec::Zstd {
                level: 3,
                threads: 2,
            },
            "ours.xva.zst",
        ),
        (Codec::Gzip { level: 1 }, "ours.xva.gz"),
    ] {
        let mut writer =
            CompressWriter::new(File::create(dir.path().join(name)).unwrap(), compression).unwrap();
        writer.write_all(&plain).unwrap();
        writer.finish().unwrap();
    }
    // The command-line tools'.
    run_ok(
        "zstd",
        "zstd",
        &os(&[
            "-q",
            "-k",
            xva.to_str().unwrap(),
            "-o",
            dir.path().join("cli.xva.zst").to_str().unwrap(),
        ]),
    );
    run_ok("gzip", "gzip", &os(&["-k", xva.to_str().unwrap()]));
    for name in ["ours.xva.zst", "ours.xva.gz", "cli.xva.zst", "vm.xva.gz"] {
        let out_dir = dir.path().join(format!("{name}.d"));
        fs::create_dir(&out_dir).unwrap();
        let extracted = extract_all(&dir.path().join(name), &out_dir);
        assert_same_bytes(&raw, &extracted[0]);
    }
}

#[test]
fn unaligned_sources_are_refused_or_padded() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("odd.img");
    let mut bytes = vec![0u8; 1000];
    XorShift(7).fill(&mut bytes);
    fs::write(&raw, &bytes).unwrap();
    let disk = FileDisk::open(&raw).unwrap();
    let spec = spec_for(std::slice::from_ref(&raw));
    let err = write_xva(
        &spec,
        vec![DiskInput::Random(&disk)],
        &mut Vec::new(),
        "o",
        &XvaOptions::default(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(
        matches!(err, DiskImageError::UnalignedSize { size: 1000, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("odd.img"), "{err}");

    let padded = PaddedDisk::new(FileDisk::open(&raw).unwrap(), 512);
    let xva = dir.path().join("odd.xva");
    let mut out = File::create(&xva).unwrap();
    write_xva(
        &spec,
        vec![DiskInput::Random(&padded)],
        &mut out,
        "o",
        &XvaOptions::default(),
        &NoProgress,
    )
    .unwrap();
    let extracted = extract_all(&xva, dir.path());
    let back = fs::read(&extracted[0]).unwrap();
    assert_eq!(back.len(), 1024);
    assert_eq!(&back[..1000], &bytes[..]);
    assert!(back[1000..].iter().all(|&b| b == 0));
}

// ---- archives shaped like XAPI's own, built by Python's tarfile --------------------------

/// An `ova.xml` in XAPI's encoding with two disks whose ids sort `Ref:10` before `Ref:2`.
fn xapi_style_ova(size_10: u64, size_2: u64) -> String {
    let vdi = |id: &str, vbd: &str, size: u64| {
        format!(
            "<value><struct><member><name>class</name><value>VDI</value></member><member><name>id</name><value>{id}</value></member><member><name>snapshot</name><value><struct><member><name>uuid</name><value>u-{id}</value></member><member><name>name_label</name><value>disk {id}</value></member><member><name>SR</name><value>Ref:3</value></member><member><name>VBDs</name><value><array><data><value>{vbd}</value></data></array></value></member><member><name>virtual_size</name><value>{size}</value></member><member><name>physical_utilisation</name><value>{size}</value></member><member><name>type</name><value>system</value></member><member><name>sharable</name><value><boolean>0</boolean></value></member><member><name>read_only</name><value><boolean>0</boolean></value></member><member><name>other_config</name><value><struct></struct></value></member><member><name>storage_lock</name><value><boolean>0</boolean></value></member><member><name>managed</name><value><boolean>1</boolean></value></member><member><name>missing</name><value><boolean>0</boolean></value></member><member><name>parent</name><value>OpaqueRef:NULL</value></member><member><name>some_future_field</name><value>ignored</value></member></struct></value></member></struct></value>"
        )
    };
    let vbd = |id: &str, vdi: &str, userdevice: &str| {
        format!(
            "<value><struct><member><name>class</name><value>VBD</value></member><member><name>id</name><value>{id}</value></member><member><name>snapshot</name><value><struct><member><name>uuid</name><value>u-{id}</value></member><member><name>VM</name><value>Ref:0</value></member><member><name>VDI</name><value>{vdi}</value></member><member><name>device</name><value>xvd{userdevice}</value></member><member><name>userdevice</name><value>{userdevice}</value></member><member><name>bootable</name><value><boolean>0</boolean></value></member><member><name>mode</name><value>rw</value></member><member><name>type</name><value>disk</value></member><member><name>empty</name><value><boolean>0</boolean></value></member></struct></value></member></struct></value>"
        )
    };
    format!(
        "<value><struct><member><name>version</name><value><struct><member><name>hostname</name><value>localhost</value></member><member><name>date</name><value>2026-11-01</value></member><member><name>product_version</name><value>8.3.0</value></member><member><name>product_brand</name><value>XCP-ng</value></member><member><name>build_number</name><value>release/8.3</value></member><member><name>xapi_major</name><value>25</value></member><member><name>xapi_minor</name><value>6</value></member><member><name>export_vsn</name><value>2</value></member></struct></value></member><member><name>objects</name><value><array><data>\
         <value><struct><member><name>class</name><value>VM</value></member><member><name>id</name><value>Ref:0</value></member><member><name>snapshot</name><value><struct><member><name>uuid</name><value>vm-uuid</value></member><member><name>name_label</name><value>xapi vm</value></member><member><name>power_state</name><value>halted</value></member><member><name>memory_static_max</name><value>1073741824</value></member><member><name>VBDs</name><value><array><data><value>Ref:1</value><value>Ref:11</value></data></array></value></member></struct></value></member></struct></value>\
         {}{}{}{}\
         <value><struct><member><name>class</name><value>SR</value></member><member><name>id</name><value>Ref:3</value></member><member><name>snapshot</name><value><struct><member><name>uuid</name><value>sr</value></member><member><name>content_type</name><value>user</value></member></struct></value></member></struct></value>\
         </data></array></value></member></struct></value>",
        vbd("Ref:1", "Ref:2", "0"),
        vdi("Ref:2", "Ref:1", size_2),
        vbd("Ref:11", "Ref:10", "1"),
        vdi("Ref:10", "Ref:11", size_10),
    )
}

#[test]
fn a_negative_virtual_size_is_refused_not_shown_as_0_bytes() {
    let xml = xapi_style_ova(5 * MIB, 3 * MIB).replace(
        &format!("<name>virtual_size</name><value>{}</value>", 3 * MIB),
        "<name>virtual_size</name><value>-3145728</value>",
    );
    let error = disk_image::xva::XvaMetadata::parse(&xml, "hostile.xva").unwrap_err();
    let source = std::error::Error::source(&error).map(ToString::to_string);
    let text = format!("{error}: {}", source.unwrap_or_default());
    assert!(text.contains("hostile.xva"), "{text}");
    assert!(text.contains("-3145728 is negative"), "{text}");
}

/// Writes a tar of `members` (name, bytes) with Python's tarfile, in that order.
fn python_tar(out: &Path, members: &[(String, Vec<u8>)]) {
    let staging = out.with_extension("members");
    fs::create_dir_all(&staging).unwrap();
    let mut args = vec![out.as_os_str().to_owned()];
    for (n, (name, bytes)) in members.iter().enumerate() {
        let path = staging.join(n.to_string());
        fs::write(&path, bytes).unwrap();
        args.push(name.into());
        args.push(path.into_os_string());
    }
    let script = "import sys,tarfile\nt=tarfile.open(sys.argv[1],'w',format=tarfile.GNU_FORMAT)\nfor name,path in zip(sys.argv[2::2],sys.argv[3::2]):\n i=t.gettarinfo(path,arcname=name); i.mode=0o400\n with open(path,'rb') as f: t.addfile(i,f)\nt.close()";
    let mut command = Command::new("python3");
    command
        .arg("-c")
        .arg(script)
        .args(&args)
        .stdout(Stdio::null());
    let status = spawn(&mut command, "python3", "python3").wait().unwrap();
    assert!(status.success());
    fs::remove_dir_all(&staging).unwrap();
}

fn chunk(seed: u64, len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    XorShift(seed).fill(&mut bytes);
    bytes
}

fn with_sum(members: &mut Vec<(String, Vec<u8>)>, name: &str, data: Vec<u8>, kind: ChecksumKind) {
    let sum = kind.compute(&data).into_bytes();
    members.push((name.to_owned(), data));
    members.push((format!("{name}{}", kind.suffix()), sum));
}

/// XAPI's own placement rules, stated independently: position = bytes read so far plus, per
/// skipped number, the archive's first chunk length; keep-alive chunks take a number only.
#[test]
fn xapi_shaped_archives_read_back_correctly() {
    let dir = tempfile::tempdir().unwrap();
    let size_10 = 5 * MIB + 4096; // stream order: Ref:10 first
    let size_2 = 3 * MIB;
    let mut members = vec![(
        "ova.xml".to_owned(),
        xapi_style_ova(size_10, size_2).into_bytes(),
    )];
    let mut expected_10 = vec![0u8; size_10 as usize];
    let mut expected_2 = vec![0u8; size_2 as usize];
    let xx = ChecksumKind::Xxhash;
    // Ref:10: chunk 0 at 0; keep-alive 1 (empty); chunk 2 lands at 1 MiB (sequential, not
    // 2 MiB); numbers 3..=5 skipped = 3 MiB gap; chunk 6 (short, last) at 5 MiB.
    let (c0, c2, c6) = (
        chunk(1, MIB as usize),
        chunk(2, MIB as usize),
        chunk(3, 4096),
    );
    expected_10[..MIB as usize].copy_from_slice(&c0);
    expected_10[MIB as usize..2 * MIB as usize].copy_from_slice(&c2);
    expected_10[5 * MIB as usize..].copy_from_slice(&c6);
    with_sum(&mut members, "Ref:10/00000000", c0, xx);
    with_sum(&mut members, "Ref:10/00000001", Vec::new(), xx);
    with_sum(&mut members, "Ref:10/00000002", c2, xx);
    with_sum(&mut members, "Ref:10/00000006", c6, xx);
    // Ref:2 with SHA-1 checksums: first and last chunk only.
    let (d0, d2) = (chunk(4, MIB as usize), chunk(5, MIB as usize));
    expected_2[..MIB as usize].copy_from_slice(&d0);
    expected_2[2 * MIB as usize..].copy_from_slice(&d2);
    with_sum(&mut members, "Ref:2/00000000", d0, ChecksumKind::Sha1);
    with_sum(&mut members, "Ref:2/00000002", d2, ChecksumKind::Sha1);
    let xva = dir.path().join("xapi.xva");
    python_tar(&xva, &members);
    assert_eq!(
        &members[4].1, b"EF46DB3751D8E999",
        "XXH64 of nothing, as XAPI writes it"
    );

    let (mut reader, _) = XvaReader::open_path(&xva).unwrap();
    let meta = reader.metadata().clone();
    assert_eq!(meta.version.xapi_major, 25);
    assert_eq!(
        meta.disks.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        ["Ref:10", "Ref:2"]
    );
    assert_eq!(
        meta.listing()[0].id,
        "Ref:2",
        "listing follows userdevice: Ref:2 is slot 0"
    );
    let mut reports = Vec::new();
    for expected in [&expected_10, &expected_2] {
        let out = dir.path().join(format!("out{}.raw", reports.len()));
        let file = File::create(&out).unwrap();
        let report = reader
            .read_disk(Some(&mut RawFileSink::new(&file, "out")), true, &NoProgress)
            .unwrap()
            .unwrap();
        assert_eq!(&fs::read(&out).unwrap(), expected);
        reports.push(report);
    }
    reader.finish().unwrap();
    assert_eq!(
        (
            reports[0].chunks,
            reports[0].empty_chunks,
            reports[0].xxhash_checksums
        ),
        (4, 1, 4)
    );
    assert_eq!((reports[1].chunks, reports[1].sha1_checksums), (2, 2));
}

/// Renames a member in place, in its tar header (same length), fixing the header checksum.
fn rename_member(xva: &Path, from: &str, to: &str) {
    assert_eq!(from.len(), to.len());
    let mut bytes = fs::read(xva).unwrap();
    let mut at = 0;
    while &bytes[at..at + from.len()] != from.as_bytes() || bytes[at + from.len()] != 0 {
        at += 512;
    }
    bytes[at..at + to.len()].copy_from_slice(to.as_bytes());
    bytes[at + 148..at + 156].fill(b' ');
    let sum: u32 = bytes[at..at + 512].iter().map(|&b| u32::from(b)).sum();
    bytes[at + 148..at + 155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    fs::write(xva, bytes).unwrap();
}

/// A small valid archive's members, for the damage tests: one 2 MiB disk `Ref:2`.
fn valid_members() -> Vec<(String, Vec<u8>)> {
    let mut members = vec![(
        "ova.xml".to_owned(),
        xapi_style_ova(MIB, 2 * MIB).into_bytes(),
    )];
    with_sum(
        &mut members,
        "Ref:10/00000000",
        chunk(9, MIB as usize),
        ChecksumKind::Sha1,
    );
    with_sum(
        &mut members,
        "Ref:2/00000000",
        chunk(10, MIB as usize),
        ChecksumKind::Sha1,
    );
    with_sum(
        &mut members,
        "Ref:2/00000001",
        chunk(11, MIB as usize),
        ChecksumKind::Sha1,
    );
    members
}

/// Reads every disk of `members` packed as a tar, verifying; returns the error text.
fn read_error(dir: &Path, name: &str, members: &[(String, Vec<u8>)]) -> String {
    let xva = dir.join(name);
    python_tar(&xva, members);
    read_file_error(&xva)
}

fn read_file_error(xva: &Path) -> String {
    let result = (|| -> disk_image::Result<()> {
        let (mut reader, _) = XvaReader::open_path(xva)?;
        while reader.read_disk(None, true, &NoProgress)?.is_some() {}
        reader.finish()
    })();
    chain(&result.expect_err("a damaged archive must be refused"))
}

/// The error with its sources, as the binaries print it.
fn chain(error: &DiskImageError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

#[test]
fn damaged_archives_are_refused_naming_the_member() {
    let dir = tempfile::tempdir().unwrap();
    // The undamaged archive reads.
    let ok = dir.path().join("ok.xva");
    python_tar(&ok, &valid_members());
    extract_all(&ok, dir.path());

    // Members: ova.xml, Ref:10/0 and its sum, Ref:2/0 and its sum, Ref:2/1 and its sum.
    let mut corrupt = valid_members();
    corrupt[3].1[100] ^= 0xFF;
    let err = read_error(dir.path(), "corrupt.xva", &corrupt);
    assert!(
        err.contains("member `Ref:2/00000000`") && err.contains("checksum mismatch"),
        "{err}"
    );

    let mut not_first = valid_members();
    not_first.swap(0, 1);
    let err = read_error(dir.path(), "order.xva", &not_first);
    assert!(
        err.contains("`ova.xml` is missing or not the first member"),
        "{err}"
    );

    let mut escaping = valid_members();
    escaping[3].0 = "../Ref:2/00000000".to_owned();
    let err = read_error(dir.path(), "escape.xva", &escaping);
    assert!(
        err.contains("unsafe member name") && err.contains("../Ref:2"),
        "{err}"
    );

    // Python's tarfile strips a leading `/`, so patch the header of a valid archive.
    let absolute = dir.path().join("absolute.xva");
    python_tar(&absolute, &valid_members());
    rename_member(&absolute, "Ref:10/00000000", "/Ref:10/0000000");
    let err = read_file_error(&absolute);
    assert!(
        err.contains("unsafe member name") && err.contains("`/Ref:10"),
        "{err}"
    );

    let mut past_end = valid_members();
    past_end[5].0 = "Ref:2/00000005".to_owned();
    past_end[6].0 = "Ref:2/00000005.checksum".to_owned();
    let err = read_error(dir.path(), "past.xva", &past_end);
    assert!(
        err.contains("Ref:2/00000005") && err.contains("past the disk's size"),
        "{err}"
    );

    let mut missing_sum = valid_members();
    missing_sum.remove(4);
    let err = read_error(dir.path(), "nosum.xva", &missing_sum);
    assert!(
        err.contains("Ref:2/00000000") && err.contains("not followed by its checksum"),
        "{err}"
    );

    let mut missing_last = valid_members();
    missing_last.truncate(5);
    let err = read_error(dir.path(), "short.xva", &missing_last);
    assert!(err.contains("ends before disk Ref:2 is complete"), "{err}");

    let mut bad_xml = valid_members();
    bad_xml[0].1 = b"<value><struct><member>".to_vec();
    let err = read_error(dir.path(), "xml.xva", &bad_xml);
    assert!(err.contains("invalid ova.xml"), "{err}");
}

#[test]
fn truncated_archives_are_refused_wherever_they_are_cut() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("a.raw");
    make_raw(&raw, &SHAPES[4].1);
    let xva = dir.path().join("whole.xva");
    build(std::slice::from_ref(&raw), &xva, ChecksumKind::Sha1);
    let whole = fs::read(&xva).unwrap();
    let cut_points = [
        100,
        600,
        3000,
        whole.len() / 2,
        whole.len() - 1024 - 512,
        whole.len() - 1024,
        whole.len() - 1,
    ];
    for cut in cut_points {
        let path = dir.path().join(format!("cut{cut}.xva"));
        fs::write(&path, &whole[..cut]).unwrap();
        let err = read_file_error(&path);
        assert!(
            err.contains("ends") || err.contains("empty") || err.contains("end-of-archive"),
            "cut at {cut}: {err}"
        );
    }
    extract_all(&xva, dir.path());
}

#[test]
fn archives_from_ready_metadata_with_xapi_keepalives_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("a.raw");
    make_raw(&raw, &SHAPES[2].1);
    // Take the metadata of an archive of this disk, as a simulator holding records would.
    let first = dir.path().join("first.xva");
    build(std::slice::from_ref(&raw), &first, ChecksumKind::Xxhash);
    let (reader, _) = XvaReader::open_path(&first).unwrap();
    let metadata = reader.metadata().clone();
    let id = metadata.disks[0].id.clone();
    let xml = ova_xml(&metadata.version, &metadata.objects);

    let disk = FileDisk::open(&raw).unwrap();
    let xva = dir.path().join("keepalive.xva");
    let options = XvaOptions {
        checksum: ChecksumKind::Xxhash,
        workers: 2,
        xapi_keepalive_every: Some(2),
    };
    let mut out = File::create(&xva).unwrap();
    write_archive(
        &xml,
        vec![(id.clone(), DiskInput::Random(&disk))],
        &mut out,
        "k",
        &options,
        &NoProgress,
    )
    .unwrap();
    let (mut reader, _) = XvaReader::open_path(&xva).unwrap();
    let back = dir.path().join("back.raw");
    let file = File::create(&back).unwrap();
    let report = reader
        .read_disk(
            Some(&mut RawFileSink::new(&file, "back")),
            true,
            &NoProgress,
        )
        .unwrap()
        .unwrap();
    reader.finish().unwrap();
    assert!(report.empty_chunks >= 2, "{report:?}");
    assert_same_bytes(&raw, &back);

    let err = write_archive(
        &xml,
        vec![
            ("Ref:2".into(), DiskInput::Random(&disk)),
            ("Ref:10".into(), DiskInput::Random(&disk)),
        ],
        &mut Vec::new(),
        "o",
        &options,
        &NoProgress,
    )
    .unwrap_err();
    assert!(err.to_string().contains("string order"), "{err}");
}
