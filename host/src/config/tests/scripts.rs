//! `[scripts]` and the `user` / `group` of commands: defaults, overrides, and what loading on
//! the host adds (user lookup, `security`).

use std::os::unix::fs::PermissionsExt;

use nix::unistd::Uid;

use super::check::command_argv;
use super::*;

const CHECK: &str = "[check.c]\nkind = \"command\"\ncommand = [\"/bin/true\"]\nfault = true\n";

fn with(extra: &str) -> String {
    format!("{HEAD}{extra}{ROUTER}track = [\"c\"]\n{CHECK}")
}

fn run_as(c: &Config) -> Option<&RunAs> {
    match &c.checks[0].kind {
        CheckKind::Command { run_as, .. } => run_as.as_ref(),
        other => panic!("{other}"),
    }
}

/// Writes `text` to a file and loads it as `vrrpd run` does.
fn load(text: &str) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vrrpd.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(&path)
}

#[test]
fn root_runs_commands_as_nobody_unless_told() {
    let c = parse(&with("")).unwrap();
    assert_eq!(command_argv(&c.checks[0].kind), ["/bin/true"]);
    if Uid::effective().is_root() {
        let r = run_as(&c).expect("a root vrrpd drops privileges");
        assert_eq!((r.user.as_str(), r.group.as_deref()), ("nobody", None));
        assert_eq!(c.scripts.run_as.as_ref(), Some(r));
    } else {
        assert_eq!(
            run_as(&c),
            None,
            "a vrrpd that is not root runs them as itself"
        );
    }
    assert!(
        !c.scripts.security,
        "off unless asked: old configs keep loading"
    );
}

#[test]
fn a_command_overrides_the_default_user() {
    let text = format!(
        "{HEAD}[scripts]\nuser = \"daemon\"\nsecurity = false\n\
         [[notify]]\ncommand = [\"/bin/true\"]\nuser = \"root\"\n\
         [[notify]]\ncommand = [\"/bin/true\"]\n\
         {ROUTER}track = [\"c\"]\n{CHECK}user = \"65534\"\ngroup = \"nogroup\"\n"
    );
    let c = parse(&text).unwrap();
    let r = run_as(&c).unwrap();
    assert_eq!(
        (r.user.as_str(), r.group.as_deref()),
        ("65534", Some("nogroup"))
    );
    assert_eq!(c.notify[0].run_as.as_ref().unwrap().user, "root");
    assert_eq!(c.notify[1].run_as.as_ref().unwrap().user, "daemon");
    assert!(
        c.notify
            .iter()
            .all(|n| n.run_as.as_ref().unwrap().ids.is_none())
    );
}

#[test]
fn user_keys_belong_to_command_checks() {
    refused(
        &format!(
            "{HEAD}{ROUTER}track = [\"c\"]\n[check.c]\nkind = \"tcp\"\naddr = \"127.0.0.1:80\"\n\
             user = \"nobody\"\nfault = true\n"
        ),
        10,
        "check.c.user",
        "`user` applies to kind = \"command\", not \"tcp\"",
    );
    refused(
        &format!("{HEAD}[scripts]\nuser = \"\"\n{ROUTER}"),
        3,
        "scripts.user",
        "a user name is not empty",
    );
    refused(
        &format!("{HEAD}[scripts]\nuse = \"nobody\"\n{ROUTER}"),
        3,
        "scripts.use",
        "unknown field `use`",
    );
}

#[test]
fn loading_on_the_host_looks_the_users_up() {
    let c = load(&with("[scripts]\nuser = \"nobody\"\ngroup = \"0\"\n")).unwrap();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    assert_eq!(run_as(&c).unwrap().ids, Some((nobody.uid.as_raw(), 0)));

    let e = load(&with("[scripts]\nuser = \"no-such-user-here\"\n")).unwrap_err();
    assert_eq!(
        (e.position.map(|p| p.0), e.key.as_str()),
        (Some(3), "scripts.user")
    );
    assert!(e.message.contains("no user \"no-such-user-here\""), "{e}");
    let e = load(&with(
        "[scripts]\nuser = \"nobody\"\ngroup = \"no-such-group\"\n",
    ))
    .unwrap_err();
    assert_eq!(e.key, "scripts.group", "{e}");
    // parse alone never looks at this host: the importer's output is checked that way.
    parse(&with("[scripts]\nuser = \"no-such-user-here\"\n")).unwrap();
}

#[test]
fn security_refuses_a_program_others_can_change() {
    // The temporary directory is under /tmp, writable by everyone: refused whatever the mode
    // of the script, so the script gets a root-owned directory of its own where possible.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("check.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o777)).unwrap();
    let text = |program: &str| {
        format!(
            "{HEAD}[scripts]\nsecurity = true\nuser = \"root\"\n{ROUTER}track = [\"c\"]\n\
             [check.c]\nkind = \"command\"\ncommand = [\"{program}\"]\nfault = true\n"
        )
    };
    let e = load(&text(script.to_str().unwrap())).unwrap_err();
    assert_eq!(
        (e.position.map(|p| p.0), e.key.as_str()),
        (Some(12), "check.c.command")
    );
    assert!(e.message.contains("is writable by others"), "{e}");
    assert!(
        e.message.contains("/tmp"),
        "names the file or directory: {e}"
    );
    // The same file without security loads, and parse alone never looks.
    load(&text(script.to_str().unwrap()).replace("security = true", "security = false")).unwrap();
    parse(&text(script.to_str().unwrap())).unwrap();
    // System programs are root's, by path or by name.
    load(&text("/bin/true")).unwrap();
    load(&text("true")).unwrap();
    let e = load(&text("no-such-program-here")).unwrap_err();
    assert!(e.message.contains("not found"), "{e}");
    let e = load(&text("/no/such/program")).unwrap_err();
    assert!(e.message.contains("/no/such/program"), "{e}");
}

#[test]
fn security_names_the_script_itself() {
    // A root-owned directory writable only by root holds the script; only the script's own
    // mode is wrong.
    let base =
        &std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("../target")).unwrap();
    let Ok(meta) = std::fs::metadata(base) else {
        panic!("no {}", base.display());
    };
    use std::os::unix::fs::MetadataExt;
    let safe_above = meta.uid() == 0
        && base
            .ancestors()
            .all(|p| std::fs::metadata(p).is_ok_and(|m| m.uid() == 0 && m.mode() & 0o022 == 0));
    if !safe_above {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI builds as root in a root-owned tree: cannot skip"
        );
        println!(
            "skipped: {} is not a root-only directory tree",
            base.display()
        );
        return;
    }
    let dir = tempfile::tempdir_in(base).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = dir.path().join("check.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let text = format!(
        "{HEAD}[scripts]\nsecurity = true\n{ROUTER}track = [\"c\"]\n\
         [check.c]\nkind = \"command\"\ncommand = [\"{}\"]\nfault = true\n",
        script.display()
    );
    load(&text).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o775)).unwrap();
    let e = load(&text).unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.contains(&format!(
            "{} (the program) is writable by its group (mode 0775)",
            script.display()
        )),
        "{shown}"
    );
    // A link to a safe program, in a directory anyone can write: the link could be swapped.
    let links = dir.path().join("links");
    std::fs::create_dir(&links).unwrap();
    std::fs::set_permissions(&links, std::fs::Permissions::from_mode(0o755)).unwrap();
    let link = links.join("true");
    std::os::unix::fs::symlink("/bin/true", &link).unwrap();
    let via_link = text.replace(&script.display().to_string(), &link.display().to_string());
    load(&via_link).unwrap();
    std::fs::set_permissions(&links, std::fs::Permissions::from_mode(0o777)).unwrap();
    let shown = load(&via_link).unwrap_err().to_string();
    assert!(
        shown.contains(&format!(
            "{} (a directory above the program) is writable by others (mode 0777)",
            links.display()
        )),
        "{shown}"
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    nix::unistd::chown(&script, Some(Uid::from_raw(65534)), None).unwrap();
    let shown = load(&text).unwrap_err().to_string();
    assert!(
        shown.contains(&format!(
            "{} (the program) is owned by uid 65534, not root",
            script.display()
        )),
        "{shown}"
    );
}
