//! vrrp-core on a bare-metal board: an ARM MPS2 with the AN386 image (Cortex-M4F, 25 MHz) and its
//! LAN9118 Ethernet controller, as QEMU's `mps2-an386` emulates it.
//!
//! One virtual router (configured from the semihosting command line, see [`args`]) runs on the
//! core's smoltcp binding; an HTTP responder on the same interface answers on the VIP while the
//! router is Active. Logs are defmt frames on the semihosting console, decoded on the host by
//! `defmt-print` (README.md). The loop polls the stack, then sleeps (WFI) until the next 1 ms
//! SysTick unless a frame is waiting: the router's timers need no better resolution, and the
//! board idles between ticks.
#![no_std]
#![no_main]

mod args;
mod clock;
mod http;
mod lan9118;
mod stack;

use core::ptr::addr_of_mut;

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::{ExceptionFrame, entry, exception};
use cortex_m_semihosting::debug;
use defmt::{info, warn};
use defmt_semihosting as _;
use smoltcp::wire::EthernetAddress;
use vrrp_core::net::{Buffers, Event, SocketResources, Stack, virtual_mac};
use vrrp_core::wire::Version;
use vrrp_core::{Config, State};

use crate::args::MAX_VIPS;
use crate::lan9118::Lan9118;

/// LAN9118 register block on the AN385/AN386 images.
const LAN9118_BASE: usize = 0x4020_0000;
/// The core clock that drives SysTick.
const CPU_HZ: u32 = 25_000_000;
const TICK_HZ: u32 = 1000;
/// The core's VRRP raw socket and the HTTP responder's TCP sockets, in one set.
const SOCKETS: usize = 1 + http::SOCKETS;

static mut CORE_RESOURCES: SocketResources<'static, SOCKETS> = SocketResources::new();
static mut CORE_BUFFERS: Buffers = Buffers::new();
static mut HTTP_BUFFERS: http::Buffers = http::Buffers::new();

defmt::timestamp!("{=u64:us}", clock::uptime_us());

/// Logs at error level and ends the emulation with a failure status.
macro_rules! fatal {
    ($($arg:tt)*) => {{
        defmt::error!($($arg)*);
        exit_failure()
    }};
}

fn exit_failure() -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

fn log_event(event: Event) {
    match event {
        Event::StateChange { from, to, reason } => info!("state {} -> {} ({})", from, to, reason),
        Event::Announced { frames } => info!("announced the VIPs ({=u16} frames)", frames),
        Event::Dropped { reason } => warn!("advert dropped: {}", reason),
        Event::AddressMismatch { source } => warn!("address list mismatch from {}", source),
        Event::TxDropped => warn!("advert not sent: transmit queue full"),
        // Only a driver that called `set_unicast_delegate` is handed these; this image leaves
        // unicast adverts (to configured peers) to the core's raw socket, so one arriving here
        // means that changed without a sender being written.
        Event::UnicastAdvert { priority, dst } => {
            warn!(
                "unicast advert to {} (priority {=u8}) not sent",
                dst, priority
            )
        }
        Event::AdvertSent { .. } | Event::AdvertReceived { .. } | Event::NotAccepted => {}
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
            Err(e) => fatal!("VIP {}: {}", vip, e),
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
        Err(word) => fatal!("bad argument {=str}", word),
    };
    // The board's own MAC, the source of all but the Active's own frames (a Backup's ARP and
    // IGMP from the virtual MAC would move a learning switch's entry for it away from the
    // Active): locally administered, from the primary address, unique on the segment.
    let [a, b, c, d] = args.primary.octets();
    let mac = EthernetAddress([0x02, 0x00, a, b, c, d]);
    // SAFETY: the AN386 image maps a LAN9118 here, and only this driver touches it.
    let mut nic = match unsafe { Lan9118::new(LAN9118_BASE, mac.0) } {
        Ok(nic) => nic,
        Err(e) => fatal!("LAN9118: {}", e),
    };
    // SAFETY: this is an AN386 image.
    let mut clock = unsafe { clock::Clock::new() };

    let Some(mut cp) = cortex_m::Peripherals::take() else {
        fatal!("core peripherals taken twice");
    };
    cp.SYST.set_clock_source(SystClkSource::Core);
    cp.SYST.set_reload(CPU_HZ / TICK_HZ - 1);
    cp.SYST.clear_current();
    cp.SYST.enable_interrupt();
    cp.SYST.enable_counter();

    // SAFETY: main runs once and never returns; these statics are borrowed only here.
    let (resources, buffers, http_buffers) = unsafe {
        (
            &mut *addr_of_mut!(CORE_RESOURCES),
            &mut *addr_of_mut!(CORE_BUFFERS),
            &mut *addr_of_mut!(HTTP_BUFFERS),
        )
    };
    let now = clock.now();
    let mut stack = match Stack::new(config(&args), &mut nic, resources, buffers, now) {
        Ok(s) => s,
        Err(e) => fatal!("config: {}", e),
    };
    if stack.set_node_mac(mac).is_err() {
        fatal!("node MAC {} is not unicast", mac);
    }
    let mut http = http::Http::new(http_buffers, stack.sockets_mut(), &args.body);

    let (id, mac_cr) = nic.identify();
    info!(
        "vrrp-firmware: VRID {=u8} priority {=u8} VRRPv{=u8} interval {=u16} ms primary {} VIPs \
         {} MAC {} virtual MAC {} (LAN9118 id {=u32:#x}, MAC_CR {=u32:#x})",
        args.vrid,
        args.priority,
        args.version,
        args.interval_ms,
        args.primary,
        args.vips.as_slice(),
        mac,
        virtual_mac(args.vrid),
        id,
        mac_cr
    );
    info!(
        "RAM: core Stack {=usize} B (VirtualRouter {=usize} B) + socket table {=usize} B + raw \
         socket buffers {=usize} B; HTTP buffers {=usize} B, NIC buffers {=usize} B",
        core::mem::size_of_val(&stack),
        core::mem::size_of_val(stack.router()),
        core::mem::size_of::<SocketResources<'static, SOCKETS>>(),
        core::mem::size_of::<Buffers>(),
        core::mem::size_of::<http::Buffers>(),
        core::mem::size_of_val(&nic)
    );
    stack.startup(now);

    let mut serving = false;
    loop {
        let now = clock.now();
        stack.poll(now, &mut nic, &mut log_event);
        let active = stack.router().state() == State::Active;
        if active != serving {
            serving = active;
            if !active {
                // The VIPs moved away: these connections' peers now talk to another router.
                http.abort_all(stack.sockets_mut());
            }
            let c = nic.counters;
            let (used, room) = stack::high_water();
            info!(
                "http served {=u32} | nic rx {=u32} (errors {=u32}) tx {=u32} (errors {=u32}, \
                 full {=u32}) | stack used {=usize} of {=usize} B",
                http.served, c.rx, c.rx_errors, c.tx, c.tx_errors, c.tx_full, used, room
            );
        }
        if http.serve(stack.sockets_mut()) {
            // Send the responses now rather than at the next tick.
            stack.poll(now, &mut nic, &mut log_event);
        }
        if !nic.rx_pending() {
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
    fatal!("hard fault at pc {=u32:#x}", frame.pc())
}

/// The location only: the message would need `core::fmt`, which this image otherwise does without.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    match info.location() {
        Some(l) => fatal!("panic at {=str}:{=u32}", l.file(), l.line()),
        None => fatal!("panic"),
    }
}
