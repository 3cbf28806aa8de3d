#!/usr/bin/env python3
"""Writes the IPv4 packets of the VRRP frames in classic pcap files to corpus/parse/ (one file
per distinct packet), as seeds for the `parse` fuzz target."""
import hashlib
import pathlib
import struct
import sys

out = pathlib.Path(__file__).parent / "corpus" / "parse"
out.mkdir(parents=True, exist_ok=True)
written = 0
for name in sys.argv[1:]:
    data = pathlib.Path(name).read_bytes()
    endian = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    offset = 24
    while offset + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[offset : offset + 16])
        frame = data[offset + 16 : offset + 16 + caplen]
        offset += 16 + caplen
        # Ethernet II, IPv4, protocol 112.
        if len(frame) > 34 and frame[12:14] == b"\x08\x00" and frame[23] == 112:
            ip = frame[14:]
            path = out / hashlib.sha1(ip).hexdigest()
            if not path.exists():
                path.write_bytes(ip)
                written += 1
print(f"{written} seeds in {out}")
