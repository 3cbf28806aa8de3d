//! Frame injector for the end-to-end tests: writes raw Ethernet frames (hex on the command line)
//! out of an interface with an AF_PACKET socket, `--count` rounds `--interval-ms` apart, and
//! prints `sent N`.
//!
//! Guards: refuses to run in the initial network namespace (it is meant for the test
//! namespaces, run with `ip netns exec`), and refuses IPv4 frames whose source is outside
//! 192.0.2.0/24 and ARP frames for other addresses.

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

fn fail(msg: &str) -> ! {
    eprintln!("inject: {msg}");
    std::process::exit(2)
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn allowed(f: &[u8]) -> bool {
    if f.len() < 14 {
        return false;
    }
    let in_segment = |a: &[u8]| a.len() >= 3 && a[..3] == [192, 0, 2];
    // Link-local (never routed) or 2001:db8::/32 (documentation), as the IPv6 labs use.
    let in_segment6 =
        |a: &[u8]| (a[0] == 0xfe && a[1] & 0xc0 == 0x80) || a[..4] == [0x20, 0x01, 0x0d, 0xb8];
    match u16::from_be_bytes([f[12], f[13]]) {
        0x0800 => f.len() >= 34 && in_segment(&f[26..30]),
        0x86dd => f.len() >= 54 && in_segment6(&f[22..38]),
        0x0806 => f.len() >= 42 && in_segment(&f[28..32]) && in_segment(&f[38..42]),
        _ => false,
    }
}

fn main() {
    let mut iface = String::from("eth0");
    let mut count = 1usize;
    let mut interval = Duration::from_millis(10);
    let mut frames = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--iface" => iface = args.next().unwrap_or_else(|| fail("--iface needs a name")),
            "--count" => {
                count = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| fail("--count needs a number"))
            }
            "--interval-ms" => {
                interval = Duration::from_millis(
                    args.next()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| fail("--interval-ms needs a number")),
                )
            }
            hex => {
                let f = parse_hex(hex).unwrap_or_else(|| fail("frames are hex strings"));
                if !allowed(&f) {
                    fail(
                        "only IPv4 from 192.0.2.0/24, ARP within it, IPv6 from fe80::/10 or 2001:db8::/32",
                    );
                }
                frames.push(f)
            }
        }
    }
    if frames.is_empty() || count == 0 || count > 100_000 {
        fail("usage: inject [--iface eth0] [--count N] [--interval-ms N] HEXFRAME...");
    }
    let own = std::fs::metadata("/proc/self/ns/net").map(|m| m.ino());
    let init = std::fs::metadata("/proc/1/ns/net").map(|m| m.ino());
    if own.is_err() || own.as_ref().ok() == init.as_ref().ok() {
        fail("refusing to inject in the initial network namespace");
    }
    let name = std::ffi::CString::new(iface.clone()).unwrap_or_else(|_| fail("bad name"));
    // SAFETY: plain libc calls on a socket we own; buffers outlive the calls.
    unsafe {
        let ifindex = libc::if_nametoindex(name.as_ptr());
        if ifindex == 0 {
            fail(&format!("no interface {iface}"));
        }
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0);
        if fd < 0 {
            fail(&format!("socket: {}", std::io::Error::last_os_error()));
        }
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = ifindex as i32;
        sll.sll_halen = 6;
        let mut sent = 0usize;
        for round in 0..count {
            if round > 0 {
                std::thread::sleep(interval);
            }
            for f in &frames {
                let n = libc::sendto(
                    fd,
                    f.as_ptr().cast(),
                    f.len(),
                    0,
                    (&sll as *const libc::sockaddr_ll).cast(),
                    std::mem::size_of::<libc::sockaddr_ll>() as u32,
                );
                if n < 0 {
                    fail(&format!("sendto: {}", std::io::Error::last_os_error()));
                }
                sent += 1;
            }
        }
        libc::close(fd);
        println!("sent {sent}");
    }
}
