//! SMSC LAN9118 (Linux: smsc911x) Ethernet controller: a polled driver over its PIO FIFOs.
//!
//! The chip has no DMA and no descriptors: a frame is read word by word from the RX data FIFO
//! after its status word, and written to the TX data FIFO after two command words. That keeps the
//! driver small enough that no crate is worth depending on (none is maintained for no_std Rust).
//! Register offsets and bits are from the LAN9118 datasheet (SMSC, rev. 1.5, section 5).

use core::ptr::{read_volatile, write_volatile};

use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::time::Instant;

/// Largest Ethernet frame without FCS (no VLAN tags on the segments we serve).
pub const MTU: usize = 1514;
/// Receive buffer: the frame plus its FCS, rounded up to whole FIFO words.
const RX_BUF: usize = (MTU + 4).next_multiple_of(4);

const RX_DATA_FIFO: usize = 0x00;
const TX_DATA_FIFO: usize = 0x20;
const RX_STATUS_FIFO: usize = 0x40;
const TX_STATUS_FIFO: usize = 0x48;
const ID_REV: usize = 0x50;
const BYTE_TEST: usize = 0x64;
const TX_CFG: usize = 0x70;
const HW_CFG: usize = 0x74;
const RX_FIFO_INF: usize = 0x7c;
const TX_FIFO_INF: usize = 0x80;
const PMT_CTRL: usize = 0x84;
const MAC_CSR_CMD: usize = 0xa4;
const MAC_CSR_DATA: usize = 0xa8;

const BYTE_TEST_VALUE: u32 = 0x8765_4321;
const HW_CFG_SRST: u32 = 1 << 0;
const PMT_CTRL_READY: u32 = 1 << 0;
const TX_CFG_TX_ON: u32 = 1 << 1;
const CSR_BUSY: u32 = 1 << 31;
const CSR_READ: u32 = 1 << 30;

const MAC_CR: u32 = 1;
const MAC_ADDRH: u32 = 2;
const MAC_ADDRL: u32 = 3;
const MAC_CR_RXEN: u32 = 1 << 2;
const MAC_CR_TXEN: u32 = 1 << 3;
/// Pass all multicast: 224.0.0.18 (01:00:5e:00:00:12) must reach the VRRP socket, and a
/// router has no other multicast to filter out.
const MAC_CR_MCPAS: u32 = 1 << 19;
/// Promiscuous: the controller's address filter holds one unicast MAC, the board's own, and
/// frames for the virtual MAC must come in too. The core's binding drops what is for neither.
const MAC_CR_PRMS: u32 = 1 << 18;
const MAC_CR_FDPX: u32 = 1 << 20;

/// RX status word: error summary, and the frame length (FCS included).
const RX_STS_ES: u32 = 1 << 15;
const TX_CMD_A_FIRST: u32 = 1 << 13;
const TX_CMD_A_LAST: u32 = 1 << 12;
const TX_STS_ES: u32 = 1 << 15;

/// Why the controller could not be brought up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum InitError {
    /// BYTE_TEST did not read 0x87654321: nothing (or a byte-swapped bus) at this address.
    NotFound(u32),
    /// Still in reset after the soft reset.
    NotReady,
}

/// Frame counters, for the status log.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    pub rx: u32,
    pub rx_errors: u32,
    pub tx: u32,
    pub tx_errors: u32,
    /// Frames smoltcp wanted to send while the TX FIFO had no room.
    pub tx_full: u32,
}

/// The memory-mapped register block.
#[derive(Clone, Copy)]
struct Regs(usize);

impl Regs {
    fn read(self, offset: usize) -> u32 {
        // SAFETY: `Lan9118::new` is given the base of the controller's register block, and every
        // offset used is a 32-bit register inside it.
        unsafe { read_volatile((self.0 + offset) as *const u32) }
    }

    fn write(self, offset: usize, value: u32) {
        // SAFETY: as in `read`.
        unsafe { write_volatile((self.0 + offset) as *mut u32, value) }
    }

    fn wait_csr(self) {
        while self.read(MAC_CSR_CMD) & CSR_BUSY != 0 {}
    }

    fn mac_write(self, reg: u32, value: u32) {
        self.wait_csr();
        self.write(MAC_CSR_DATA, value);
        self.write(MAC_CSR_CMD, CSR_BUSY | reg);
        self.wait_csr();
    }

    fn mac_read(self, reg: u32) -> u32 {
        self.wait_csr();
        self.write(MAC_CSR_CMD, CSR_BUSY | CSR_READ | reg);
        self.wait_csr();
        self.read(MAC_CSR_DATA)
    }

    /// Status words of received frames waiting in the RX status FIFO.
    fn rx_frames(self) -> u32 {
        (self.read(RX_FIFO_INF) >> 16) & 0xff
    }

    /// Pops the status of every transmitted frame, so that the status FIFO never fills.
    fn drain_tx_status(self, counters: &mut Counters) {
        while (self.read(TX_FIFO_INF) >> 16) & 0xff != 0 {
            if self.read(TX_STATUS_FIFO) & TX_STS_ES != 0 {
                counters.tx_errors += 1;
            }
        }
    }
}

/// One LAN9118 with its frame buffers (3 KiB).
pub struct Lan9118 {
    regs: Regs,
    rx: [u8; RX_BUF],
    rx_len: usize,
    tx: [u8; MTU],
    tag: u16,
    pub counters: Counters,
}

impl Lan9118 {
    /// Resets the controller at `base` and starts it with unicast address `mac` (plus broadcast
    /// and all multicast).
    ///
    /// # Safety
    /// `base` must be the register block of a LAN9118 that nothing else accesses.
    pub unsafe fn new(base: usize, mac: [u8; 6]) -> Result<Lan9118, InitError> {
        let regs = Regs(base);
        let test = regs.read(BYTE_TEST);
        if test != BYTE_TEST_VALUE {
            return Err(InitError::NotFound(test));
        }
        regs.write(HW_CFG, HW_CFG_SRST);
        // The datasheet gives the reset 1 ms at most; bounded so a dead chip is an error.
        let mut spins = 0u32;
        while regs.read(HW_CFG) & HW_CFG_SRST != 0 || regs.read(PMT_CTRL) & PMT_CTRL_READY == 0 {
            spins += 1;
            if spins > 1_000_000 {
                return Err(InitError::NotReady);
            }
        }
        let [a, b, c, d, e, f] = mac;
        regs.mac_write(MAC_ADDRL, u32::from_le_bytes([a, b, c, d]));
        regs.mac_write(MAC_ADDRH, u32::from_le_bytes([e, f, 0, 0]));
        // Full duplex: the PHY of the emulated chip (and a switch port) always is.
        regs.mac_write(
            MAC_CR,
            MAC_CR_RXEN | MAC_CR_TXEN | MAC_CR_MCPAS | MAC_CR_PRMS | MAC_CR_FDPX,
        );
        regs.write(TX_CFG, TX_CFG_TX_ON);
        Ok(Lan9118 {
            regs,
            rx: [0; RX_BUF],
            rx_len: 0,
            tx: [0; MTU],
            tag: 0,
            counters: Counters::default(),
        })
    }

    /// ID_REV (0x0118xxxx for a LAN9118) and MAC_CR as programmed, for the boot log.
    pub fn identify(&self) -> (u32, u32) {
        (self.regs.read(ID_REV), self.regs.mac_read(MAC_CR))
    }

    /// Whether a received frame is waiting.
    pub fn rx_pending(&self) -> bool {
        self.regs.rx_frames() != 0
    }

    /// Reads the next good frame into the receive buffer; returns its length without FCS.
    /// Frames with an error status, or too short / too long, are read out and dropped.
    pub fn read_frame(&mut self) -> Option<usize> {
        loop {
            if self.regs.rx_frames() == 0 {
                return None;
            }
            let status = self.regs.read(RX_STATUS_FIFO);
            let len = ((status >> 16) & 0x3fff) as usize;
            let words = len.div_ceil(4);
            let good = status & RX_STS_ES == 0 && (14 + 4..=RX_BUF).contains(&len);
            for i in 0..words {
                let word = self.regs.read(RX_DATA_FIFO);
                // A frame too long for the buffer is still popped word by word to keep the
                // FIFO in step with its status words.
                if let Some(dst) = self.rx.get_mut(4 * i..4 * i + 4) {
                    dst.copy_from_slice(&word.to_le_bytes());
                }
            }
            if good {
                self.counters.rx += 1;
                self.rx_len = len - 4;
                return Some(self.rx_len);
            }
            self.counters.rx_errors += 1;
        }
    }

    /// A transmit token if the TX data FIFO has room for a full frame and its command words.
    pub fn tx_token(&mut self) -> Option<Lan9118Tx<'_>> {
        self.regs.drain_tx_status(&mut self.counters);
        if (self.regs.read(TX_FIFO_INF) & 0xffff) < (MTU + 8) as u32 {
            self.counters.tx_full += 1;
            return None;
        }
        Some(Lan9118Tx {
            regs: self.regs,
            buf: &mut self.tx,
            tag: &mut self.tag,
            counters: &mut self.counters,
        })
    }

    /// Splits a received frame (by [`read_frame`](Self::read_frame)) and a transmit token.
    pub fn rx_and_tx(&mut self) -> (&[u8], Lan9118Tx<'_>) {
        self.regs.drain_tx_status(&mut self.counters);
        let Lan9118 {
            regs,
            rx,
            rx_len,
            tx,
            tag,
            counters,
        } = self;
        (
            &rx[..*rx_len],
            Lan9118Tx {
                regs: *regs,
                buf: tx,
                tag,
                counters,
            },
        )
    }

    pub fn capabilities() -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MTU;
        caps.max_burst_size = Some(1);
        caps
    }
}

/// Writes one frame into the TX FIFO when consumed. Room for it was checked when it was made.
pub struct Lan9118Tx<'a> {
    regs: Regs,
    buf: &'a mut [u8; MTU],
    tag: &'a mut u16,
    counters: &'a mut Counters,
}

impl TxToken for Lan9118Tx<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let len = len.min(MTU);
        let frame = &mut self.buf[..len];
        let result = f(frame);
        *self.tag = self.tag.wrapping_add(1);
        let len32 = len as u32;
        self.regs
            .write(TX_DATA_FIFO, TX_CMD_A_FIRST | TX_CMD_A_LAST | len32);
        self.regs
            .write(TX_DATA_FIFO, (u32::from(*self.tag) << 16) | len32);
        for chunk in frame.chunks(4) {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            self.regs.write(TX_DATA_FIFO, u32::from_le_bytes(word));
        }
        self.counters.tx += 1;
        result
    }
}

/// The received frame, already read out of the FIFO.
pub struct Lan9118Rx<'a>(pub &'a [u8]);

impl RxToken for Lan9118Rx<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(self.0)
    }
}

impl Device for Lan9118 {
    type RxToken<'a> = Lan9118Rx<'a>;
    type TxToken<'a> = Lan9118Tx<'a>;

    fn receive(&mut self, _: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        self.read_frame()?;
        let (rx, tx) = self.rx_and_tx();
        Some((Lan9118Rx(rx), tx))
    }

    fn transmit(&mut self, _: Instant) -> Option<Self::TxToken<'_>> {
        self.tx_token()
    }

    fn capabilities(&self) -> DeviceCapabilities {
        Lan9118::capabilities()
    }
}
