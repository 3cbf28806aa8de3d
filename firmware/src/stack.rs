//! Stack high-water mark: the free RAM between the statics and the stack is painted at boot, and
//! the unpainted depth is what the stack has used at most. This is the figure the memory budget
//! needs, and it cannot be known statically (smoltcp's poll paths are deep).

use core::ptr::{addr_of, read_volatile, write_volatile};

const PAINT: u32 = 0x5afe_57ac;
/// Left unpainted below the current stack pointer: this function's own frame and its callers'.
const MARGIN: usize = 256;

unsafe extern "C" {
    /// End of .bss/.uninit (cortex-m-rt's linker script): the lowest address the stack may reach.
    static __sheap: u32;
    /// Initial stack pointer: the top of RAM.
    static _stack_start: u32;
}

fn bounds() -> (usize, usize) {
    // Only the addresses of the linker symbols are taken, never their contents.
    (addr_of!(__sheap) as usize, addr_of!(_stack_start) as usize)
}

/// Paints the free stack. Call first thing in `main`.
pub fn paint() {
    let (low, _) = bounds();
    let sp = cortex_m::register::msp::read() as usize;
    let mut p = low.next_multiple_of(4);
    while p + MARGIN < sp {
        // SAFETY: [__sheap, sp - MARGIN) is RAM that nothing uses yet (no heap in this image).
        unsafe { write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// Bytes of stack used so far (at most), and the room it has.
pub fn high_water() -> (usize, usize) {
    let (low, top) = bounds();
    let mut p = low.next_multiple_of(4);
    // SAFETY: reads of RAM between the statics and the stack.
    while p < top && unsafe { read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    (top - p, top - low)
}
