//! Recording simulated frames as a classic pcap file (Ethernet link type).

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};

use crate::time::Micros;

/// Frames written in memory; a run decides at the end whether to keep them.
pub struct Recorder {
    writer: PcapWriter<Vec<u8>>,
}

impl Recorder {
    pub fn new() -> Recorder {
        // Fixed endianness: the same seed must give the same bytes on any machine.
        let header = PcapHeader {
            datalink: DataLink::ETHERNET,
            ts_resolution: TsResolution::MicroSecond,
            endianness: Endianness::Little,
            snaplen: 65535,
            ..PcapHeader::default()
        };
        let writer =
            PcapWriter::with_header(Vec::new(), header).expect("writing to a Vec cannot fail");
        Recorder { writer }
    }

    pub fn record(&mut self, at: Micros, frame: &[u8]) {
        let ts = std::time::Duration::from_micros(at);
        let packet = PcapPacket::new(ts, frame.len() as u32, frame);
        self.writer
            .write_packet(&packet)
            .expect("writing to a Vec cannot fail");
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.writer.into_writer()
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

/// One frame of a trace, with its timestamp in microseconds since the Unix epoch.
pub struct TraceFrame {
    pub at: u64,
    pub data: Vec<u8>,
}

/// Reads every frame of a pcap file, sorted by timestamp (stable): tcpdump on a bridge writes
/// frames from different ports slightly out of order.
pub fn read_trace(bytes: &[u8]) -> Result<Vec<TraceFrame>, String> {
    let mut reader = pcap_file::pcap::PcapReader::new(bytes).map_err(|e| e.to_string())?;
    if reader.header().datalink != DataLink::ETHERNET {
        return Err(format!(
            "link type {:?}: only Ethernet captures can be replayed",
            reader.header().datalink
        ));
    }
    let mut frames = Vec::new();
    while let Some(packet) = reader.next_packet() {
        let packet = packet.map_err(|e| e.to_string())?;
        frames.push(TraceFrame {
            at: packet.timestamp.as_micros() as u64,
            data: packet.data.into_owned(),
        });
    }
    frames.sort_by_key(|f| f.at);
    Ok(frames)
}
