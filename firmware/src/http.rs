//! The service on the VIP: a minimal HTTP/1.1 responder on port 80 that answers every request
//! with a fixed body and closes, so a client sees which router holds the VIP.

use core::fmt::Write as _;

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp;

/// Concurrent connections. A socket is busy from SYN to our FIN's ACK (a few ms here), and
/// a SYN that finds none listening is reset, so a few cover a client polling every 5 ms.
pub const SOCKETS: usize = 4;
const BUF: usize = 512;

/// Socket buffers: all zeros, so they cost no flash (.bss).
pub struct Buffers {
    rx: [[u8; BUF]; SOCKETS],
    tx: [[u8; BUF]; SOCKETS],
}

impl Buffers {
    pub const fn new() -> Self {
        Buffers {
            rx: [[0; BUF]; SOCKETS],
            tx: [[0; BUF]; SOCKETS],
        }
    }
}

pub struct Http {
    handles: [SocketHandle; SOCKETS],
    response: heapless::String<160>,
    pub served: u32,
}

impl Http {
    /// Adds the responder's sockets to `sockets`, which must have room for [`SOCKETS`] more: the
    /// core's own set, so they share its interface and answer on the VIPs it claims.
    pub fn new<'a>(buffers: &'a mut Buffers, sockets: &mut SocketSet<'a>, body: &str) -> Http {
        let Buffers { rx, tx } = buffers;
        let mut rx = rx.iter_mut();
        let mut tx = tx.iter_mut();
        let handles = core::array::from_fn(|_| {
            let (Some(r), Some(t)) = (rx.next(), tx.next()) else {
                unreachable!("SOCKETS buffers of each kind");
            };
            let socket = tcp::Socket::new(
                tcp::SocketBuffer::new(&mut r[..]),
                tcp::SocketBuffer::new(&mut t[..]),
            );
            sockets.add(socket)
        });
        let mut response = heapless::String::new();
        // The body is at most 32 bytes, so the response always fits.
        let _ = write!(
            response,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        Http {
            handles,
            response,
            served: 0,
        }
    }

    /// Moves every connection along: listen, answer the first request bytes, close. Returns
    /// whether a response was queued (it leaves at the stack's next poll).
    pub fn serve(&mut self, sockets: &mut SocketSet<'_>) -> bool {
        let mut answered = false;
        for &h in &self.handles {
            let s = sockets.get_mut::<tcp::Socket>(h);
            match s.state() {
                tcp::State::Closed => {
                    // Only fails when already open or port 0.
                    let _ = s.listen(80);
                }
                // Our FIN was acknowledged: the client has everything. TIME-WAIT would hold the
                // socket 10 s, so drop the connection state now.
                tcp::State::TimeWait => s.abort(),
                _ => {}
            }
            if s.can_recv() && s.may_send() {
                // One request per connection (Connection: close): its content is not needed.
                let _ = s.recv(|data| (data.len(), ()));
                if s.send_slice(self.response.as_bytes()).is_ok() {
                    self.served += 1;
                    answered = true;
                }
                s.close();
            }
        }
        answered
    }

    /// Resets every connection (the VIP moved away: their peer now talks to another router).
    pub fn abort_all(&mut self, sockets: &mut SocketSet<'_>) {
        for &h in &self.handles {
            sockets.get_mut::<tcp::Socket>(h).abort();
        }
    }
}
