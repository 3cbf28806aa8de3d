//! `[check.NAME]` tables.

use super::*;

fn check(body: &str) -> String {
    format!("{HEAD}{ROUTER}track = [\"c\"]\n[check.c]\n{body}\n")
}

#[test]
fn checks_of_each_kind() {
    let c = parse(&check(
        "kind = \"http\"\nurl = \"http://127.0.0.1:8080/health?x=1\"\nbody = \"ok\"\nfault = true",
    ))
    .unwrap();
    let CheckKind::Http {
        connect,
        authority,
        path,
        expect_status,
        body,
        ..
    } = &c.checks[0].kind
    else {
        panic!()
    };
    assert_eq!(
        (connect.as_str(), authority.as_str(), path.as_str()),
        ("127.0.0.1:8080", "127.0.0.1:8080", "/health?x=1")
    );
    assert_eq!((*expect_status, body.as_deref()), (200, Some("ok")));
    assert_eq!(c.checks[0].effect, Effect::Fault);
    assert_eq!(
        c.checks[0].timeout, c.checks[0].interval,
        "timeout defaults to the interval"
    );

    let c = parse(&check("kind = \"process\"\nname = \"nginx\"\nweight = 10")).unwrap();
    assert_eq!(
        c.checks[0].kind,
        CheckKind::ProcessName {
            name: "nginx".into()
        }
    );
    let c = parse(&check(
        "kind = \"process\"\npidfile = \"/run/nginx.pid\"\nweight = -10",
    ))
    .unwrap();
    assert_eq!(
        c.checks[0].kind,
        CheckKind::ProcessPidfile {
            pidfile: "/run/nginx.pid".into()
        }
    );
    let c = parse(&check(
        "kind = \"command\"\ncommand = [\"/bin/true\"]\nweight = 0",
    ))
    .unwrap();
    assert_eq!(command_argv(&c.checks[0].kind), ["/bin/true"]);
}

#[test]
fn bad_check_kinds() {
    // The check table starts on line 7, its first key on line 8.
    let cases: &[(&str, usize, &str, &str)] = &[
        (
            "kind = \"ping\"\nfault = true",
            8,
            "check.c.kind",
            "unknown check kind \"ping\"",
        ),
        ("fault = true", 7, "check.c", "missing field `kind`"),
        (
            "kind = \"http\"\nfault = true",
            7,
            "check.c",
            "requires `url`",
        ),
        (
            "kind = \"http\"\nurl = \"https://127.0.0.1/\"\nfault = true",
            9,
            "check.c.url",
            "only http://",
        ),
        (
            "kind = \"http\"\nurl = \"not a url\"\nfault = true",
            9,
            "check.c.url",
            "not a URL",
        ),
        (
            "kind = \"http\"\nurl = \"http://127.0.0.1/\"\nexpect_status = 99\nfault = true",
            10,
            "check.c.expect_status",
            "100..=599",
        ),
        (
            "kind = \"tcp\"\nurl = \"http://127.0.0.1/\"\nfault = true",
            9,
            "check.c.url",
            "`url` applies to kind = \"http\", not \"tcp\"",
        ),
        (
            "kind = \"tcp\"\naddr = \"localhost:80\"\nfault = true",
            9,
            "check.c.addr",
            "not an IP:PORT",
        ),
        (
            "kind = \"tcp\"\nfault = true",
            7,
            "check.c",
            "requires `addr`",
        ),
        (
            "kind = \"process\"\nfault = true",
            7,
            "check.c",
            "requires `name` or `pidfile`",
        ),
        (
            "kind = \"process\"\nname = \"nginx\"\npidfile = \"/run/x.pid\"\nfault = true",
            10,
            "check.c.pidfile",
            "not both",
        ),
        (
            "kind = \"process\"\npidfile = \"run/x.pid\"\nfault = true",
            9,
            "check.c.pidfile",
            "absolute",
        ),
        (
            "kind = \"command\"\ncommand = []\nfault = true",
            9,
            "check.c.command",
            "needs a program",
        ),
        (
            "kind = \"command\"\ncommand = \"/bin/true\"\nfault = true",
            9,
            "check.c.command",
            "invalid type",
        ),
    ];
    for (body, line, key, why) in cases {
        refused(&check(body), *line, key, why);
    }
    refused(
        &format!(
            "{HEAD}{ROUTER}[check.\"bad name\"]\nkind = \"tcp\"\naddr = \"127.0.0.1:1\"\nfault = true\n"
        ),
        6,
        "check.\"bad name\"",
        "must be letters",
    );
}

#[test]
fn bad_check_timing_and_effect() {
    // The check table starts on line 7, its first key on line 8.
    let cases: &[(&str, usize, &str, &str)] = &[
        (
            "kind = \"tcp\"\naddr = \"127.0.0.1:1\"\ninterval = \"5ms\"\nfault = true",
            10,
            "check.c.interval",
            "at least 10ms",
        ),
        (
            "kind = \"tcp\"\naddr = \"127.0.0.1:1\"\ninterval = \"100ms\"\ntimeout = \"200ms\"\nfault = true",
            11,
            "check.c.timeout",
            "at most the interval",
        ),
        (
            "kind = \"tcp\"\naddr = \"127.0.0.1:1\"\ntimeout = \"0s\"\nfault = true",
            10,
            "check.c.timeout",
            "more than 0",
        ),
        (
            "kind = \"tcp\"\naddr = \"127.0.0.1:1\"\nrise = 0\nfault = true",
            10,
            "check.c.rise",
            "rise must be 1..=1000",
        ),
        (
            "kind = \"tcp\"\naddr = \"127.0.0.1:1\"\nfall = -2\nfault = true",
            10,
            "check.c.fall",
            "fall must be",
        ),
        (
            "kind = \"tcp\"\naddr = \"127.0.0.1:1\"\nweight = 300",
            10,
            "check.c.weight",
            "-254..=254",
        ),
        (
            "kind = \"tcp\"\naddr = \"127.0.0.1:1\"",
            7,
            "check.c",
            "set `weight`",
        ),
        (
            "kind = \"tcp\"\naddr = \"127.0.0.1:1\"\nweight = 5\nfault = true",
            11,
            "check.c.fault",
            "not both",
        ),
        (
            "kind = \"tcp\"\naddr = \"127.0.0.1:1\"\nfault = false",
            10,
            "check.c.fault",
            "no effect",
        ),
        (
            "kind = \"tcp\"\naddr = \"127.0.0.1:1\"\nfault = true\nretries = 3",
            11,
            "check.c.retries",
            "unknown field `retries`",
        ),
    ];
    for (body, line, key, why) in cases {
        refused(&check(body), *line, key, why);
    }
}

#[test]
fn interface_check() {
    let c = parse(&check(
        "kind = \"interface\"\ninterface = \"eth0\"\nfault = true",
    ))
    .unwrap();
    assert_eq!(
        c.checks[0].kind,
        CheckKind::Interface {
            name: "eth0".into()
        }
    );
    refused(
        &check("kind = \"interface\"\ninterface = \"a/b\"\nfault = true"),
        9,
        "check.c.interface",
        "not a Linux interface name",
    );
    refused(
        &check("kind = \"tcp\"\naddr = \"127.0.0.1:1\"\ninterface = \"eth0\"\nfault = true"),
        10,
        "check.c.interface",
        "applies to kind",
    );
}

pub(super) fn command_argv(kind: &CheckKind) -> &[String] {
    match kind {
        CheckKind::Command { argv, .. } => argv,
        other => panic!("not a command check: {other}"),
    }
}

#[test]
fn file_checks() {
    let c = parse(&check(
        "kind = \"file\"\npath = \"/run/vrrpd/drain\"\nweight = -50\ninterval = \"500ms\"",
    ))
    .unwrap();
    let f = &c.checks[0];
    assert_eq!(
        f.kind,
        CheckKind::File {
            path: "/run/vrrpd/drain".into(),
            init: None,
        }
    );
    assert_eq!(
        f.effect,
        Effect::Scaled(vrrp_core::track::Scale {
            weight: -50,
            reverse: false
        })
    );
    assert_eq!(f.interval, std::time::Duration::from_millis(500));

    let c = parse(&check(
        "kind = \"file\"\npath = \"/run/drain\"\nweight = 0\nreverse = true",
    ))
    .unwrap();
    assert_eq!(
        c.checks[0].effect,
        Effect::Scaled(vrrp_core::track::Scale {
            weight: 0,
            reverse: true
        })
    );
}

#[test]
fn bad_file_checks() {
    // The check table starts on line 7, its first key on line 8.
    let cases: &[(&str, usize, &str, &str)] = &[
        (
            "kind = \"file\"\nweight = 1",
            7,
            "check.c",
            "requires `path`",
        ),
        (
            "kind = \"file\"\npath = \"run/drain\"\nweight = 1",
            9,
            "check.c.path",
            "absolute",
        ),
        (
            "kind = \"file\"\npath = \"/run/drain\"",
            7,
            "check.c",
            "set `weight`",
        ),
        (
            "kind = \"file\"\npath = \"/run/drain\"\nfault = true",
            10,
            "check.c.fault",
            "not `fault`",
        ),
        (
            "kind = \"file\"\npath = \"/run/drain\"\nweight = 255",
            10,
            "check.c.weight",
            "-254..=254",
        ),
        (
            "kind = \"file\"\npath = \"/run/drain\"\nweight = 1\nrise = 2",
            11,
            "check.c.rise",
            "`rise` and `fall` do not apply",
        ),
        (
            "kind = \"file\"\npath = \"/run/drain\"\nweight = 1\nfall = 2",
            11,
            "check.c.fall",
            "`rise` and `fall` do not apply",
        ),
        (
            "kind = \"tcp\"\naddr = \"127.0.0.1:1\"\nreverse = true\nweight = 1",
            10,
            "check.c.reverse",
            "`reverse` applies to kind = \"file\", not \"tcp\"",
        ),
        (
            "kind = \"command\"\ncommand = [\"/bin/true\"]\npath = \"/x\"\nweight = 1",
            10,
            "check.c.path",
            "`path` applies to kind = \"file\"",
        ),
    ];
    for (body, line, key, why) in cases {
        refused(&check(body), *line, key, why);
    }
}

#[test]
fn a_file_check_may_write_its_initial_number() {
    let with = |init: &str| {
        check(&format!(
            "kind = \"file\"\npath = \"/run/drain\"\nweight = -10\n{init}"
        ))
    };
    let init = |text: &str| match &parse(text).unwrap().checks[0].kind {
        CheckKind::File { init, .. } => *init,
        other => panic!("{other}"),
    };
    assert_eq!(init(&with("")), None);
    assert_eq!(
        init(&with("init = -3")),
        Some(FileInit {
            value: -3,
            overwrite: false
        })
    );
    assert_eq!(
        init(&with("init = 0\noverwrite = true")),
        Some(FileInit {
            value: 0,
            overwrite: true
        })
    );
    // The check's keys start at line 8.
    refused(&with("init = 255"), 11, "check.c.init", "-254..=254");
    refused(
        &with("overwrite = true"),
        11,
        "check.c.overwrite",
        "`overwrite` needs `init`",
    );
    refused(
        &check("kind = \"tcp\"\naddr = \"127.0.0.1:80\"\nfault = true\ninit = 0"),
        11,
        "check.c.init",
        "applies to kind = \"file\"",
    );
}
