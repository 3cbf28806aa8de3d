//! Mutated configuration files: the keepalived.conf files in tests/keepalived/ through
//! `vrrpd import-keepalived` (and `vrrpd check` of what it wrote), and examples/vrrpd.toml through
//! `vrrpd check`. Whatever the bytes, the outcome is one the command documents: import exits 0
//! (converted), 3 (converted, settings listed) or 2 (refused, with a message); check exits 0 or 2
//! (with a message). Never a panic, and never import's exit 1 "the converted configuration does
//! not validate", which would mean the importer wrote a file that vrrpd refuses.
//!
//! Deterministic: the mutations come from a seeded generator, so a failure names the seed and
//! the case, and prints the mutated bytes. Most cases run in-process through the library
//! functions the commands call (fast); a sample runs through the binary itself.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use vrrp_host::cli::describe;
use vrrp_host::config::Config;
use vrrp_host::import::import_file;

mod cli_common;
use cli_common::vrrpd;

/// Mutated inputs per seed file, in-process.
const IN_PROCESS: usize = 250;
/// Of those, how many also run through the binary.
const THROUGH_BINARY: usize = 12;

/// SplitMix64: a small, well-known generator; enough for picking mutations reproducibly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Bytes that mean something to one of the grammars, or that a careless writer passes through:
/// control characters (NUL, BEL, ESC, DEL, CR alone), quotes, comment starts, braces, brackets,
/// `=`, and the start of a UTF-8 sequence with its continuation missing.
const INTERESTING: &[u8] =
    b"\0\x01\x07\x08\x0b\x0c\x1b\x7f\r\n\t \"'#!{}[]=.,\\/-0123456789\xc3\xff";

/// One to four byte-level edits of `seed`.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let pos = if b.is_empty() { 0 } else { rng.below(b.len()) };
        match rng.below(7) {
            // Flip one bit.
            0 if !b.is_empty() => b[pos] ^= 1 << rng.below(8),
            // Overwrite with an interesting byte.
            1 if !b.is_empty() => b[pos] = INTERESTING[rng.below(INTERESTING.len())],
            // Insert an interesting byte.
            2 => b.insert(pos, INTERESTING[rng.below(INTERESTING.len())]),
            // Insert a random byte.
            3 => b.insert(pos, rng.next() as u8),
            // Delete a run of up to 8 bytes.
            4 if !b.is_empty() => {
                let end = (pos + 1 + rng.below(8)).min(b.len());
                b.drain(pos..end);
            }
            // Copy a run of the seed elsewhere: duplicated keys, blocks, words.
            5 if !seed.is_empty() => {
                let from = rng.below(seed.len());
                let end = (from + 1 + rng.below(40)).min(seed.len());
                let at = pos.min(b.len());
                b.splice(at..at, seed[from..end].iter().copied());
            }
            // Overwrite a digit run with a boundary number.
            _ => {
                let n: &[u8] = [
                    &b"0"[..],
                    b"-1",
                    b"255",
                    b"256",
                    b"65536",
                    b"99999999999999999999",
                ][rng.below(6)];
                let at = pos.min(b.len());
                let end = (at..b.len())
                    .find(|&i| !b[i].is_ascii_digit())
                    .unwrap_or(b.len());
                b.splice(at..end, n.iter().copied());
            }
        }
    }
    b
}

fn manifest(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The keepalived.conf seeds: every file in tests/keepalived/ and the main file of the include
/// tree, by path relative to that directory.
fn keepalived_seeds() -> Vec<String> {
    let dir = manifest("tests/keepalived");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".conf"))
        .collect();
    names.sort();
    names.push("include/keepalived.conf".into());
    names
}

/// Copies tests/keepalived/ into `to`, so that the mutated file's `include`s resolve against a
/// copy, and a mutated include glob cannot reach beyond it by accident of the checkout layout.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// What `vrrpd import-keepalived FILE` does, up to its exit status: 2 when the importer refuses
/// the file (with a message), 0 or 3 when the output validates, Err when it does not (the bug
/// that exits 1) or when something panics.
fn import_in_process(file: &Path) -> Result<u8, String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| match import_file(file) {
        Err(e) => {
            let msg = e.render();
            if msg.trim().is_empty() {
                return Err("refused without a message".to_owned());
            }
            Ok(2)
        }
        Ok(imported) => match Config::parse(&imported.toml, Path::new("out.toml")) {
            Ok(config) => {
                // `vrrpd check` of the output prints this.
                let _ = describe(&config);
                Ok(if imported.untranslated.is_empty() {
                    0
                } else {
                    3
                })
            }
            Err(e) => Err(format!(
                "the converted configuration does not validate:\n{}\n---\n{}",
                e.render(),
                imported.toml
            )),
        },
    }));
    outcome.unwrap_or_else(|p| Err(format!("panic: {}", panic_text(&p))))
}

/// What `vrrpd check --config FILE` does: 0 when it validates, 2 with a message when not.
fn check_in_process(file: &Path) -> Result<u8, String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| match Config::load(file) {
        Ok(config) => {
            let _ = describe(&config);
            Ok(0)
        }
        Err(e) if e.render().trim().is_empty() => Err("refused without a message".to_owned()),
        Err(_) => Ok(2),
    }));
    outcome.unwrap_or_else(|p| Err(format!("panic: {}", panic_text(&p))))
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// The binary agrees with the in-process outcome, says something on stderr when it refuses, and
/// `vrrpd check` accepts what `import-keepalived` wrote.
fn import_through_binary(file: &Path, out: &Path, expected: u8) -> Result<(), String> {
    let _ = std::fs::remove_file(out);
    let o = vrrpd(&[
        "import-keepalived",
        &file.display().to_string(),
        "-o",
        &out.display().to_string(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    if o.status.code() != Some(expected.into()) {
        return Err(format!(
            "import-keepalived exited {:?}, in-process {expected}: {stderr}",
            o.status.code()
        ));
    }
    if expected == 2 {
        if !stderr.starts_with("vrrpd: ") {
            return Err(format!("exit 2 without a message: {stderr:?}"));
        }
        return Ok(());
    }
    let c = vrrpd(&["check", "--config", &out.display().to_string()]);
    if c.status.code() != Some(0) {
        return Err(format!(
            "check of the output exited {:?}: {}",
            c.status.code(),
            String::from_utf8_lossy(&c.stderr)
        ));
    }
    Ok(())
}

fn check_through_binary(file: &Path, expected: u8) -> Result<(), String> {
    let o = vrrpd(&["check", "--config", &file.display().to_string()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    if o.status.code() != Some(expected.into()) {
        return Err(format!(
            "check exited {:?}, in-process {expected}: {stderr}",
            o.status.code()
        ));
    }
    if expected == 2 && !stderr.starts_with("vrrpd: ") {
        return Err(format!("exit 2 without a message: {stderr:?}"));
    }
    Ok(())
}

/// Counts of outcomes by exit status, to show that the mutations reach every outcome rather
/// than stopping at the first syntax error.
#[derive(Default, Debug)]
struct Tally([usize; 4]);

#[test]
fn mutated_keepalived_conf_imports_or_is_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&manifest("tests/keepalived"), dir.path());
    let out = dir.path().join("out.toml");
    let mut failures = Vec::new();
    let mut tally = Tally::default();
    for (i, name) in keepalived_seeds().iter().enumerate() {
        let seed = std::fs::read(manifest("tests/keepalived").join(name)).unwrap();
        // The mutated file sits beside the original, so that its includes resolve the same way.
        let file = dir.path().join(name).with_file_name("mutated.conf");
        let mut rng = Rng(0x6B65_6570_0000 + i as u64);
        for case in 0..IN_PROCESS {
            let bytes = mutate(&seed, &mut rng);
            std::fs::write(&file, &bytes).unwrap();
            let result = import_in_process(&file).and_then(|code| {
                tally.0[code as usize] += 1;
                if case < THROUGH_BINARY {
                    import_through_binary(&file, &out, code)?;
                }
                Ok(())
            });
            if let Err(why) = result {
                failures.push(format!(
                    "{name} case {case}: {why}\ninput: {}",
                    show(&bytes)
                ));
            }
        }
    }
    eprintln!("import outcomes by exit status [0, 1, 2, 3]: {:?}", tally.0);
    assert!(
        failures.is_empty(),
        "{} of the mutated files fail:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // Not every mutation is a syntax error: some convert, fully or with settings listed.
    assert!(
        tally.0[0] > 0 && tally.0[2] > 0 && tally.0[3] > 0,
        "{tally:?}"
    );
}

#[test]
fn mutated_vrrpd_toml_validates_or_is_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mutated.toml");
    let mut failures = Vec::new();
    let mut tally = Tally::default();
    for (i, name) in ["examples/vrrpd.toml", "examples/backup.toml"]
        .iter()
        .enumerate()
    {
        let seed = std::fs::read(manifest(name)).unwrap();
        let mut rng = Rng(0x746F_6D6C_0000 + i as u64);
        // The example is long, so one to four edits leave most of it intact: more cases.
        for case in 0..IN_PROCESS * 4 {
            let bytes = mutate(&seed, &mut rng);
            std::fs::write(&file, &bytes).unwrap();
            let result = check_in_process(&file).and_then(|code| {
                tally.0[code as usize] += 1;
                if case < THROUGH_BINARY {
                    check_through_binary(&file, code)?;
                }
                Ok(())
            });
            if let Err(why) = result {
                failures.push(format!(
                    "{name} case {case}: {why}\ninput: {}",
                    show(&bytes)
                ));
            }
        }
    }
    eprintln!("check outcomes by exit status [0, 1, 2, 3]: {:?}", tally.0);
    assert!(
        failures.is_empty(),
        "{} of the mutated files fail:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(tally.0[0] > 0 && tally.0[2] > 0, "{tally:?}");
}
