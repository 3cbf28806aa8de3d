//! The smallest program that runs one virtual router on a smoltcp interface: a device that
//! receives nothing and discards what it sends, and a loop that polls with a fake clock.
//! `size` of the resulting ELF is the core's footprint (plus smoltcp's) on Cortex-M.
#![no_std]
#![no_main]

use core::net::Ipv4Addr;
use core::panic::PanicInfo;

use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use vrrp_core::net::{Buffers, Resources, Stack};
use vrrp_core::{Config, Instant};

struct Null {
    buf: [u8; 1514],
    tx: [u8; 1514],
}

struct Rx<'a>(&'a [u8]);
struct Tx<'a>(&'a mut [u8; 1514]);

impl RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        // A frame of opaque content and length, so that the whole receive path (Ethernet, ARP,
        // IPv4, the advert parser, the state machine's handlers) is linked in.
        let len = usize::from(unsafe { core::ptr::read_volatile(&self.0[0]) }) * 6;
        f(&self.0[..len.min(self.0.len())])
    }
}

impl TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let len = len.min(self.0.len());
        let r = f(&mut self.0[..len]);
        // Keep the frame observable so the optimiser cannot drop the code that wrote it.
        unsafe { core::ptr::read_volatile(&self.0[0]) };
        r
    }
}

impl Device for Null {
    type RxToken<'a> = Rx<'a>;
    type TxToken<'a> = Tx<'a>;
    fn receive(&mut self, _: smoltcp::time::Instant) -> Option<(Rx<'_>, Tx<'_>)> {
        // An opaque condition so that the receive path is linked in.
        if unsafe { core::ptr::read_volatile(&self.buf[1]) } == 1 {
            Some((Rx(&self.buf), Tx(&mut self.tx)))
        } else {
            None
        }
    }
    fn transmit(&mut self, _: smoltcp::time::Instant) -> Option<Tx<'_>> {
        Some(Tx(&mut self.tx))
    }
    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = 1514;
        caps
    }
}

static mut RESOURCES: Resources<'static> = Resources::new();
static mut BUFFERS: Buffers = Buffers::new();
static mut DEVICE: Null = Null {
    buf: [0; 1514],
    tx: [0; 1514],
};

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let config = Config::<4>::new(10, 100, Ipv4Addr::new(192, 0, 2, 11))
        .with_vip(Ipv4Addr::new(192, 0, 2, 1))
        .unwrap_or_else(|_| loop {});
    // SAFETY: single-threaded bare-metal entry point; these statics are used only here.
    let (resources, buffers, device) = unsafe {
        (
            &mut *core::ptr::addr_of_mut!(RESOURCES),
            &mut *core::ptr::addr_of_mut!(BUFFERS),
            &mut *core::ptr::addr_of_mut!(DEVICE),
        )
    };
    let mut now = Instant::from_ticks(0);
    let Ok(mut stack) = Stack::new(config, device, resources, buffers, now) else {
        loop {}
    };
    stack.startup(now);
    loop {
        stack.poll(now, device, &mut |_| {});
        now = stack.poll_at(now).unwrap_or(now);
        stack.set_priority(now, unsafe { core::ptr::read_volatile(&device.buf[2]) });
    }
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    loop {}
}
