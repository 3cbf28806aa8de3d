//! The monotonic clock: the MPS2 FPGA I/O block's 25 MHz counter, made 64-bit.
//!
//! COUNTER (32 bits at 25 MHz) wraps every 171 s; CLK100HZ (32 bits at 100 Hz) wraps after 497
//! days. The fine counter is extended with the wrap count that the coarse one implies, so the
//! clock is right however long the board was frozen between two reads (a SIGSTOPped QEMU, a
//! halted debugger): no overflow interrupt to miss, and no state but the last value returned.

use core::ptr::read_volatile;

use vrrp_core::Instant;

/// FPGA I/O block of the AN385/AN386 images.
const FPGAIO: usize = 0x4002_8000;
const CLK100HZ: usize = FPGAIO + 0x14;
const COUNTER: usize = FPGAIO + 0x18;
const PRESCALE: usize = FPGAIO + 0x1c;

const HZ: u64 = 25_000_000;
const TICKS_PER_CENTISECOND: u64 = HZ / 100;

pub struct Clock {
    last: u64,
}

fn read(addr: usize) -> u32 {
    // SAFETY: FPGAIO registers are read-only counters of the board, always mapped.
    unsafe { read_volatile(addr as *const u32) }
}

/// Ticks of 25 MHz since reset.
fn ticks() -> u64 {
    let coarse = u64::from(read(CLK100HZ)) * TICKS_PER_CENTISECOND;
    let fine = u64::from(read(COUNTER));
    // The wrap count whose extension of `fine` lies nearest the coarse estimate: the two
    // differ by at most 10 ms plus the read latency, far less than half a wrap (85 s).
    let wraps = (coarse + (1 << 31)).saturating_sub(fine) >> 32;
    (wraps << 32) + fine
}

/// µs since reset, for log timestamps: readable from anywhere (the logger has no `Clock`), at
/// the price of the monotonic guard that [`Clock::now`] adds.
pub fn uptime_us() -> u64 {
    ticks() / (HZ / 1_000_000)
}

impl Clock {
    /// # Safety
    /// Only on an MPS2 AN385/AN386 image (or QEMU's `mps2-an385` / `mps2-an386`).
    pub unsafe fn new() -> Clock {
        // COUNTER counts at the full 25 MHz only with the prescaler at its reset value, 0.
        debug_assert_eq!(read(PRESCALE), 0);
        Clock { last: 0 }
    }

    pub fn now(&mut self) -> Instant {
        // Monotonic even if the two registers are read across a coarse tick.
        self.last = self.last.max(ticks());
        Instant::from_micros(self.last / (HZ / 1_000_000))
    }
}
