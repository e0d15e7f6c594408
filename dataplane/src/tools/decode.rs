//! `tickwire-dataplane decode --format itch50|moldudp64 FILE`: one JSON object per message.
//!
//! - `itch50`: an ITCH 5.0 BinaryFILE (gzip or plain). Keys are the spec's field names in
//!   snake_case (see `tickwire_protocol::itch`).
//! - `moldudp64`: a pcap of Ethernet/IPv4/UDP frames carrying MoldUDP64 packets; the same
//!   objects plus `moldudp64_session` and `moldudp64_sequence`. `--port` selects the UDP
//!   destination port when the capture holds other traffic; frames that are not IPv4/UDP
//!   (ARP, ...) are skipped. Heartbeats and end-of-session packets carry no message.

use std::{io::Write, path::Path};

use tickwire_protocol::{itch, moldudp64};

use super::{
    ToolError, for_each_binary_file_message, open_input, pcap::PcapReader, push_json_string,
};
use crate::net::parse_udp_frame;

/// Supported formats.
pub const FORMATS: &str = "itch50, moldudp64";

/// Decodes `path` in `format` to `out`; returns the number of messages written.
///
/// # Errors
/// [`ToolError`] naming the file, offset and message type of the first problem.
pub fn run(
    format: &str,
    path: &Path,
    port: Option<u16>,
    out: &mut impl Write,
) -> Result<u64, ToolError> {
    match format {
        "itch50" => itch50(path, out),
        "moldudp64" => moldudp64_pcap(path, port, out),
        other => Err(ToolError::UnknownFormat {
            tool: "decode",
            format: other.to_owned(),
            supported: FORMATS,
        }),
    }
}

fn itch50(path: &Path, out: &mut impl Write) -> Result<u64, ToolError> {
    let mut line = String::with_capacity(512);
    let mut count = 0;
    for_each_binary_file_message(path, |offset, bytes| {
        let message = itch::decode(bytes)
            .map_err(|error| ToolError::data(path, offset, error.to_string()))?;
        line.clear();
        message.write_json(&mut line);
        line.push('\n');
        count += 1;
        out.write_all(line.as_bytes()).map_err(ToolError::Output)
    })?;
    Ok(count)
}

fn moldudp64_pcap(path: &Path, port: Option<u16>, out: &mut impl Write) -> Result<u64, ToolError> {
    let mut reader = PcapReader::new(open_input(path)?)
        .map_err(|error| ToolError::data(path, 0, error.to_string()))?;
    let mut line = String::with_capacity(512);
    let mut count = 0;
    loop {
        let record = match reader.next_record() {
            Ok(Some(record)) => record,
            Ok(None) => return Ok(count),
            Err(error) => return Err(ToolError::data(path, 0, error.to_string())),
        };
        let Ok(udp) = parse_udp_frame(record.frame) else {
            continue;
        };
        if port.is_some_and(|port| udp.dst.port() != port) {
            continue;
        }
        let packet = moldudp64::decode(udp.payload).map_err(|error| {
            ToolError::data(
                path,
                record.offset,
                format!("MoldUDP64 packet to {}: {error}", udp.dst),
            )
        })?;
        let mut session = String::with_capacity(16);
        push_json_string(&mut session, packet.session().as_bytes());
        for (index, bytes) in packet.messages().enumerate() {
            let sequence = packet.sequence_number() + index as u64;
            let message = itch::decode(bytes).map_err(|error| {
                ToolError::data(path, record.offset, format!("sequence {sequence}: {error}"))
            })?;
            line.clear();
            message.write_json(&mut line);
            // Extend the object with the packet's coordinates.
            line.pop();
            line.push_str(",\"moldudp64_session\":");
            line.push_str(&session);
            line.push_str(",\"moldudp64_sequence\":");
            line.push_str(&sequence.to_string());
            line.push_str("}\n");
            count += 1;
            out.write_all(line.as_bytes()).map_err(ToolError::Output)?;
        }
    }
}
