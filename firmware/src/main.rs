//! vrrp-core on a bare-metal board: an ARM MPS2 with the AN386 image (Cortex-M4F, 25 MHz) and its
//! LAN9118 Ethernet controller, as QEMU's `mps2-an386` emulates it.
//!
//! One virtual router (configured from the semihosting command line, see [`args`]) runs on the
//! core's smoltcp binding; an HTTP responder answers on the VIP while the router is Active;
//! state changes are logged through semihosting. The loop polls both interfaces, then sleeps
//! (WFI) until the next 1 ms SysTick unless a frame is waiting: the router's timers need no
//! better resolution, and the board idles between ticks.
#![no_std]
#![no_main]

mod args;
mod clock;
mod http;
mod lan9118;
mod stack;
mod tee;

use core::net::Ipv4Addr;
use core::ptr::addr_of_mut;

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::{ExceptionFrame, entry, exception};
use cortex_m_semihosting::{debug, hprintln};
use smoltcp::iface::{Config as IfaceConfig, Interface};
use smoltcp::wire::{HardwareAddress, IpCidr};
use vrrp_core::net::{Buffers, Event, Resources, Stack, virtual_mac};
use vrrp_core::wire::Version;
use vrrp_core::{Config, Instant, State};

use crate::args::MAX_VIPS;
use crate::lan9118::Lan9118;
use crate::tee::{CoreDevice, ServiceDevice, SideQueue};

/// LAN9118 register block on the AN385/AN386 images.
const LAN9118_BASE: usize = 0x4020_0000;
/// The core clock that drives SysTick.
const CPU_HZ: u32 = 25_000_000;
const TICK_HZ: u32 = 1000;

static mut CORE_RESOURCES: Resources<'static> = Resources::new();
static mut CORE_BUFFERS: Buffers = Buffers::new();
static mut HTTP_BUFFERS: http::Buffers = http::Buffers::new();
static mut HTTP_SOCKETS: http::Storage = http::Storage::new();
static mut SIDE: SideQueue = SideQueue::new();

/// `[seconds.millis] message`, in integers: float formatting would cost 4 KiB of flash.
macro_rules! log {
    ($now:expr, $($arg:tt)*) => {{
        let ms = ($now).as_millis();
        hprintln!("[{:>6}.{:03}] {}", ms / 1000, ms % 1000, format_args!($($arg)*))
    }};
}

fn fatal(what: core::fmt::Arguments) -> ! {
    hprintln!("fatal: {}", what);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

fn smol(now: Instant) -> smoltcp::time::Instant {
    smoltcp::time::Instant::from_micros(now.as_micros() as i64)
}

fn log_event(now: Instant, event: Event) {
    match event {
        Event::StateChange { from, to, reason } => {
            log!(now, "state {} -> {} ({})", from, to, reason)
        }
        Event::Announced { frames } => log!(now, "announced the VIPs ({} frames)", frames),
        Event::Dropped { reason } => log!(now, "advert dropped: {:?}", reason),
        Event::AddressMismatch { source } => log!(now, "address list mismatch from {}", source),
        Event::TxDropped => log!(now, "advert not sent: transmit queue full"),
        Event::AdvertSent { .. }
        | Event::AdvertReceived { .. }
        | Event::UnicastAdvert { .. }
        | Event::NotAccepted => {}
    }
}

fn config(a: &args::Args) -> Config<MAX_VIPS> {
    let mut c = Config::new(a.vrid, a.priority, a.primary);
    c.version = if a.version == 2 {
        Version::V2
    } else {
        Version::V3
    };
    c.adver_interval = a.interval_ms / 10;
    c.preempt = a.preempt;
    // The board serves on the VIP (the HTTP responder), as nginx does behind vrrpd.
    c.accept_mode = true;
    c.vip_prefix_len = a.prefix;
    for &vip in &a.vips {
        c = match c.with_vip(vip) {
            Ok(c) => c,
            Err(e) => fatal(format_args!("{e}")),
        };
    }
    c
}

#[entry]
fn main() -> ! {
    stack::paint();
    let mut line = [0u8; 256];
    let args = match args::parse(args::cmdline(&mut line)) {
        Ok(a) => a,
        Err(word) => fatal(format_args!("bad argument {word:?}")),
    };
    let mac = virtual_mac(args.vrid);
    // SAFETY: the AN386 image maps a LAN9118 here, and only this driver touches it.
    let mut nic = match unsafe { Lan9118::new(LAN9118_BASE, mac.0) } {
        Ok(nic) => nic,
        Err(e) => fatal(format_args!("LAN9118: {e:?}")),
    };
    // SAFETY: this is an AN386 image.
    let mut clock = unsafe { clock::Clock::new() };

    let Some(mut cp) = cortex_m::Peripherals::take() else {
        fatal(format_args!("core peripherals taken twice"));
    };
    cp.SYST.set_clock_source(SystClkSource::Core);
    cp.SYST.set_reload(CPU_HZ / TICK_HZ - 1);
    cp.SYST.clear_current();
    cp.SYST.enable_interrupt();
    cp.SYST.enable_counter();

    // SAFETY: main runs once and never returns; these statics are borrowed only here.
    let (resources, buffers, http_buffers, http_sockets, side) = unsafe {
        (
            &mut *addr_of_mut!(CORE_RESOURCES),
            &mut *addr_of_mut!(CORE_BUFFERS),
            &mut *addr_of_mut!(HTTP_BUFFERS),
            &mut *addr_of_mut!(HTTP_SOCKETS),
            &mut *addr_of_mut!(SIDE),
        )
    };
    let vips: heapless::Vec<Ipv4Addr, MAX_VIPS> = args.vips.clone();
    let mut overflow = 0u32;
    let now = clock.now();
    let mut stack = {
        let mut dev = CoreDevice {
            nic: &mut nic,
            side,
            vips: &vips,
            overflow: &mut overflow,
        };
        match Stack::new(config(&args), &mut dev, resources, buffers, now) {
            Ok(s) => s,
            Err(e) => fatal(format_args!("config: {e}")),
        }
    };
    let mut service = {
        let mut dev = ServiceDevice {
            nic: &mut nic,
            side,
        };
        Interface::new(
            IfaceConfig::new(HardwareAddress::Ethernet(mac)),
            &mut dev,
            smol(now),
        )
    };
    let (mut http, mut sockets) = http::Http::new(http_buffers, http_sockets, &args.body);

    let (id, mac_cr) = nic.identify();
    log!(
        now,
        "vrrp-firmware: VRID {} priority {} VRRPv{} interval {} ms primary {} VIPs {:?} \
         MAC {} (LAN9118 id {:#010x}, MAC_CR {:#x})",
        args.vrid,
        args.priority,
        args.version,
        args.interval_ms,
        args.primary,
        args.vips.as_slice(),
        mac,
        id,
        mac_cr
    );
    log!(
        now,
        "RAM: core Stack {} B (VirtualRouter {} B) + raw socket buffers {} B; service \
         interface {} B, HTTP {} B, side queue {} B, NIC buffers {} B",
        core::mem::size_of_val(&stack),
        core::mem::size_of_val(stack.router()),
        core::mem::size_of::<Buffers>() + core::mem::size_of::<Resources>(),
        core::mem::size_of_val(&service),
        core::mem::size_of::<http::Buffers>() + core::mem::size_of::<http::Storage>(),
        core::mem::size_of::<SideQueue>(),
        core::mem::size_of_val(&nic)
    );
    stack.startup(now);

    let mut claimed = false;
    loop {
        let now = clock.now();
        {
            let mut dev = CoreDevice {
                nic: &mut nic,
                side,
                vips: &vips,
                overflow: &mut overflow,
            };
            stack.poll(now, &mut dev, &mut |e| log_event(now, e));
        }
        // The service answers on the VIPs exactly while the core claims them.
        let active = stack.router().state() == State::Active;
        if active != claimed {
            claimed = active;
            let prefix = args.prefix;
            service.update_ip_addrs(|addrs| {
                addrs.clear();
                if active {
                    for vip in &vips {
                        let _ = addrs.push(IpCidr::new((*vip).into(), prefix));
                    }
                }
            });
            if !active {
                http.abort_all(&mut sockets);
            }
            let c = nic.counters;
            let (used, room) = stack::high_water();
            log!(
                now,
                "http served {} | nic rx {} (errors {}) tx {} (errors {}, full {}) | side \
                 overflow {} | stack used {} of {} B",
                http.served,
                c.rx,
                c.rx_errors,
                c.tx,
                c.tx_errors,
                c.tx_full,
                overflow,
                used,
                room
            );
        }
        {
            let mut dev = ServiceDevice {
                nic: &mut nic,
                side,
            };
            service.poll(smol(now), &mut dev, &mut sockets);
            http.serve(&mut sockets);
            service.poll(smol(now), &mut dev, &mut sockets);
        }
        if !nic.rx_pending() && side.is_empty() {
            cortex_m::asm::wfi();
        }
    }
}

#[exception]
fn SysTick() {
    // Only wakes the main loop from WFI.
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    fatal(format_args!("hard fault at pc {:#010x}", frame.pc()))
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    fatal(format_args!("{info}"))
}
