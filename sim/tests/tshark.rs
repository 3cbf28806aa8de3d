//! Wireshark must dissect every recorded frame without a malformed or bad-checksum mark.
//! Needs tshark (Debian package `tshark`): in CI (CI=true) its absence is a failure.

use std::path::PathBuf;
use std::process::Command;

use vrrp_sim::scenario::Scenario;

fn tshark() -> Option<&'static str> {
    let found = Command::new("tshark").arg("--version").output().is_ok();
    if found {
        return Some("tshark");
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "tshark is not installed (apt-get install tshark): required in CI"
    );
    println!("skipped: tshark is not installed");
    None
}

#[test]
fn tshark_dissects_every_frame_cleanly() {
    let Some(tshark) = tshark() else { return };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    // v3 and v2, several VRIDs and VIPs, GARP, priority 0, replies, faults; unicast adverts
    // and the ARP that resolves the peers.
    for name in [
        "three-vrids.vrrp",
        "graceful-stop.vrrp",
        "one-way-partition.vrrp",
        "unicast-peers.vrrp",
        // IPv6: adverts to ff02::12, unsolicited NAs, MLD reports; and both families at once.
        "ipv6-seed-demo.vrrp",
        "ipv6-dual-stack.vrrp",
    ] {
        let s = Scenario::parse(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap();
        let out = vrrp_sim::run::run(&s, s.seed, true);
        let path =
            std::env::temp_dir().join(format!("vrrp-sim-{}-{name}.pcap", std::process::id()));
        std::fs::write(&path, &out.pcap).unwrap();
        let result = Command::new(tshark)
            .args([
                "-n",
                "-r",
                path.to_str().unwrap(),
                "-o",
                "vrrp.v3_checksum_as_in_v2:FALSE",
            ])
            .args([
                "-T",
                "fields",
                "-e",
                "frame.number",
                "-e",
                "_ws.expert.message",
                "-e",
                "vrrp.checksum.status",
                "-e",
                "frame.protocols",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&result.stdout).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        let _ = std::fs::remove_file(&path);
        assert!(
            result.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&result.stderr)
        );
        assert_eq!(
            lines.len() as u64,
            out.frames,
            "{name}: tshark read every frame"
        );
        let mut vrrp = 0;
        for line in &lines {
            let l = line.to_lowercase();
            assert!(!l.contains("malformed"), "{name}: {line}");
            assert!(!l.contains("bad"), "{name}: {line}");
            if l.contains(":vrrp") {
                vrrp += 1;
                // 1 = Good in Wireshark's checksum status.
                assert!(
                    line.split('\t').nth(2) == Some("1"),
                    "{name}: checksum not verified: {line}"
                );
            }
        }
        assert!(vrrp > 5, "{name}: {vrrp} VRRP frames");
    }
}
