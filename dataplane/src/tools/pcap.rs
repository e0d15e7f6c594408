//! A streaming reader of classic pcap captures (microsecond and nanosecond variants, both
//! byte orders). pcapng is recognised and refused with a hint. Link types: Ethernet (1)
//! and raw IPv4 (101, 228), the latter given a synthetic Ethernet header so one parser
//! serves both.

use std::io::Read;

/// Why a capture could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    /// Not a pcap file.
    #[error("not a pcap file (magic {0:#010x})")]
    BadMagic(u32),
    /// A pcapng file.
    #[error("pcapng is not supported; convert with `editcap -F pcap in.pcapng out.pcap`")]
    PcapNg,
    /// A link type we cannot parse.
    #[error("unsupported link type {0} (Ethernet and raw IPv4 are supported)")]
    LinkType(u32),
    /// The file ends inside a header or record.
    #[error("truncated {0}")]
    Truncated(&'static str),
    /// A record claims an impossible length.
    #[error("record length {0} exceeds the snapshot length")]
    RecordLength(u32),
    /// Reading failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

const ETHERNET: u32 = 1;
const RAW_IPV4: [u32; 2] = [101, 228];
/// Largest record accepted whatever the header says (jumbo frames included).
const MAX_RECORD: u32 = 262_144;

/// One captured frame.
#[derive(Debug)]
pub struct Record<'a> {
    /// Offset of the record header in the file.
    pub offset: u64,
    /// Capture timestamp, ns since the Unix epoch.
    pub timestamp_ns: u64,
    /// The frame, starting with an Ethernet header.
    pub frame: &'a [u8],
}

/// Streaming pcap reader.
#[derive(Debug)]
pub struct PcapReader<R> {
    input: R,
    big_endian: bool,
    nanos: bool,
    raw_ipv4: bool,
    buffer: Vec<u8>,
    offset: u64,
}

fn read_exact_or_eof(input: &mut impl Read, buffer: &mut [u8]) -> Result<bool, PcapError> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(PcapError::Truncated("record header")),
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(true)
}

impl<R: Read> PcapReader<R> {
    /// Reads and checks the global header.
    ///
    /// # Errors
    /// [`PcapError`] for anything but a classic pcap of a supported link type.
    pub fn new(mut input: R) -> Result<Self, PcapError> {
        let mut header = [0u8; 24];
        if !read_exact_or_eof(&mut input, &mut header)? {
            return Err(PcapError::Truncated("file header"));
        }
        let magic = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let (big_endian, nanos) = match magic {
            0xa1b2_c3d4 => (false, false),
            0xa1b2_3c4d => (false, true),
            0xd4c3_b2a1 => (true, false),
            0x4d3c_b2a1 => (true, true),
            0x0a0d_0d0a => return Err(PcapError::PcapNg),
            other => return Err(PcapError::BadMagic(other)),
        };
        let field = |at: usize| {
            let bytes = [header[at], header[at + 1], header[at + 2], header[at + 3]];
            if big_endian {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            }
        };
        let link_type = field(20) & 0x0fff_ffff;
        let raw_ipv4 = RAW_IPV4.contains(&link_type);
        if link_type != ETHERNET && !raw_ipv4 {
            return Err(PcapError::LinkType(link_type));
        }
        Ok(Self {
            input,
            big_endian,
            nanos,
            raw_ipv4,
            buffer: Vec::with_capacity(2048),
            offset: 24,
        })
    }

    /// The next record, `None` at the end of the file.
    ///
    /// # Errors
    /// [`PcapError`] for truncated or impossible records.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, PcapError> {
        let mut header = [0u8; 16];
        if !read_exact_or_eof(&mut self.input, &mut header)? {
            return Ok(None);
        }
        let field = |at: usize| {
            let bytes = [header[at], header[at + 1], header[at + 2], header[at + 3]];
            if self.big_endian {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            }
        };
        let (seconds, fraction, captured) = (field(0), field(4), field(8));
        if captured > MAX_RECORD {
            return Err(PcapError::RecordLength(captured));
        }
        let offset = self.offset;
        self.offset += 16 + u64::from(captured);
        self.buffer.clear();
        if self.raw_ipv4 {
            // A synthetic Ethernet header with the IPv4 ethertype.
            self.buffer.extend_from_slice(&[0; 12]);
            self.buffer.extend_from_slice(&[0x08, 0x00]);
        }
        let start = self.buffer.len();
        self.buffer.resize(start + captured as usize, 0);
        if !read_exact_or_eof(&mut self.input, &mut self.buffer[start..])? && captured > 0 {
            return Err(PcapError::Truncated("record"));
        }
        let fraction_ns = if self.nanos {
            u64::from(fraction)
        } else {
            u64::from(fraction) * 1_000
        };
        Ok(Some(Record {
            offset,
            timestamp_ns: u64::from(seconds) * 1_000_000_000 + fraction_ns,
            frame: &self.buffer,
        }))
    }
}

/// Writes a classic pcap (microseconds, little endian, Ethernet) — for tests and tools.
#[derive(Debug)]
pub struct PcapWriter<W> {
    output: W,
}

impl<W: std::io::Write> PcapWriter<W> {
    /// Writes the global header.
    ///
    /// # Errors
    /// If writing fails.
    pub fn new(mut output: W) -> std::io::Result<Self> {
        let mut header = Vec::with_capacity(24);
        header.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        header.extend_from_slice(&2u16.to_le_bytes());
        header.extend_from_slice(&4u16.to_le_bytes());
        header.extend_from_slice(&[0; 8]);
        header.extend_from_slice(&65_535u32.to_le_bytes());
        header.extend_from_slice(&ETHERNET.to_le_bytes());
        output.write_all(&header)?;
        Ok(Self { output })
    }

    /// Appends one Ethernet frame captured at `timestamp_ns`.
    ///
    /// # Errors
    /// If writing fails.
    pub fn write(&mut self, timestamp_ns: u64, frame: &[u8]) -> std::io::Result<()> {
        let len = u32::try_from(frame.len()).map_err(std::io::Error::other)?;
        let seconds = u32::try_from(timestamp_ns / 1_000_000_000).unwrap_or(u32::MAX);
        let micros = u32::try_from(timestamp_ns % 1_000_000_000 / 1_000).unwrap_or(0);
        for value in [seconds, micros, len, len] {
            self.output.write_all(&value.to_le_bytes())?;
        }
        self.output.write_all(frame)
    }

    /// Flushes and returns the writer.
    ///
    /// # Errors
    /// If flushing fails.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.output.flush()?;
        Ok(self.output)
    }
}
