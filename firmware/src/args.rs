//! The board's configuration, from the semihosting command line (`key=value` words), so that one
//! image serves every seat of a test. A product would read the same values from flash.

use core::net::Ipv4Addr;

use cortex_m_semihosting::{nr, syscall1};
use heapless::Vec;

/// Most VIPs per virtual router in this image.
pub const MAX_VIPS: usize = 4;

#[derive(Debug, Clone)]
pub struct Args {
    pub vrid: u8,
    pub priority: u8,
    pub version: u8,
    pub interval_ms: u16,
    /// This router's own address: the source of its adverts.
    pub primary: Ipv4Addr,
    pub vips: Vec<Ipv4Addr, MAX_VIPS>,
    pub prefix: u8,
    pub preempt: bool,
    /// The HTTP responder's body.
    pub body: heapless::String<32>,
}

impl Default for Args {
    fn default() -> Self {
        let mut body = heapless::String::new();
        let _ = body.push_str("Firmware");
        let mut vips = Vec::new();
        let _ = vips.push(Ipv4Addr::new(192, 0, 2, 1));
        Args {
            vrid: 10,
            priority: 100,
            version: 3,
            interval_ms: 1000,
            primary: Ipv4Addr::new(192, 0, 2, 11),
            vips,
            prefix: 24,
            preempt: true,
            body,
        }
    }
}

/// Reads the command line QEMU passes (`-semihosting-config arg=...`) into `buf`.
pub fn cmdline(buf: &mut [u8]) -> &str {
    let mut block = [buf.as_mut_ptr() as usize, buf.len()];
    // SAFETY: SYS_GET_CMDLINE writes at most block[1] bytes to block[0] and the length back to
    // block[1]; both stay valid for the call, and the pointer handed over is a mutable one.
    let (rc, len) = unsafe {
        let rc = syscall1(nr::GET_CMDLINE, block.as_mut_ptr() as usize);
        (rc, core::ptr::read_volatile(&block[1]))
    };
    if rc != 0 {
        return "";
    }
    let len = len.min(buf.len());
    core::str::from_utf8(&buf[..len]).unwrap_or("")
}

/// Parses `key=value` words; other words (the program name) are skipped. An unknown key or a
/// bad value is an error naming the word, so a mistyped test fails loudly instead of running
/// the defaults.
pub fn parse(line: &str) -> Result<Args, &str> {
    let mut args = Args::default();
    let mut vips_given = false;
    for word in line.split_ascii_whitespace() {
        let Some((key, value)) = word.split_once('=') else {
            continue;
        };
        let ok = match key {
            "vrid" => value.parse().map(|v| args.vrid = v).is_ok(),
            "prio" => value.parse().map(|v| args.priority = v).is_ok(),
            "version" => value.parse().map(|v| args.version = v).is_ok(),
            "interval_ms" => value.parse().map(|v| args.interval_ms = v).is_ok(),
            "ip" => value.parse().map(|v| args.primary = v).is_ok(),
            "prefix" => value.parse().map(|v| args.prefix = v).is_ok(),
            "preempt" => value.parse().map(|v| args.preempt = v).is_ok(),
            "vip" => {
                if !vips_given {
                    args.vips.clear();
                    vips_given = true;
                }
                value
                    .parse()
                    .ok()
                    .is_some_and(|v| args.vips.push(v).is_ok())
            }
            "body" => {
                args.body.clear();
                args.body.push_str(value).is_ok()
            }
            _ => false,
        };
        if !ok {
            return Err(word);
        }
    }
    Ok(args)
}
