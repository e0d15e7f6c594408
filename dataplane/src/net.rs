//! Ethernet/IPv4/UDP framing for the kernel-bypass path.
//!
//! - [`parse_udp_frame`] borrows a received frame and never panics: anything that is not a
//!   well-formed, option-less, unfragmented IPv4/UDP frame is a [`FrameError`] for the caller
//!   to count.
//! - [`UdpHeaderTemplate`] holds the 42 header bytes for one destination, computed once at
//!   start-up; [`UdpHeaderTemplate::finish`] stamps lengths and both checksums (in software:
//!   veth and many NICs leave partial checksums on frames that bypass the stack).
//! - [`reply_in_place`] turns a received frame into its reply without copying the payload.
//!
//! Nothing here allocates.

use std::net::{Ipv4Addr, SocketAddrV4};

/// Ethernet header length without a VLAN tag.
pub const ETH_HLEN: usize = 14;
/// 802.1Q tag length.
pub const VLAN_HLEN: usize = 4;
/// IPv4 header length without options.
pub const IPV4_HLEN: usize = 20;
/// UDP header length.
pub const UDP_HLEN: usize = 8;
/// Bytes in front of the payload of an untagged Ethernet/IPv4/UDP frame.
pub const UDP_FRAME_OVERHEAD: usize = ETH_HLEN + IPV4_HLEN + UDP_HLEN;

const ETH_P_IPV4: u16 = 0x0800;
const ETH_P_8021Q: u16 = 0x8100;
const IPPROTO_UDP: u8 = 17;
const IPV4_FLAG_DF: u16 = 0x4000;
const IPV4_FRAGMENT_MASK: u16 = 0x3fff;
const DEFAULT_TTL: u8 = 64;

/// Why a frame is not a datagram for us. Small and `Copy`: counted in the hot path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Shorter than the Ethernet (and VLAN) header.
    #[error("frame shorter than its Ethernet header")]
    TruncatedEthernet,
    /// Not IPv4 (ARP, IPv6, ...).
    #[error("not an IPv4 frame")]
    NotIpv4,
    /// Shorter than the IPv4 header, or IPv4 version/IHL impossible.
    #[error("truncated or invalid IPv4 header")]
    BadIpv4Header,
    /// IPv4 header with options (not steered by the XDP program either).
    #[error("IPv4 options are not supported on the fast path")]
    Ipv4Options,
    /// A fragment.
    #[error("IPv4 fragment")]
    Fragment,
    /// Not UDP.
    #[error("not a UDP datagram")]
    NotUdp,
    /// IPv4 total length or UDP length inconsistent with the frame.
    #[error("IPv4/UDP length fields disagree with the frame")]
    BadLength,
    /// The payload does not fit the buffer.
    #[error("payload larger than the frame buffer")]
    TooLarge,
}

/// A received Ethernet/IPv4/UDP frame, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct UdpFrame<'a> {
    /// Destination MAC.
    pub dst_mac: [u8; 6],
    /// Source MAC.
    pub src_mac: [u8; 6],
    /// 802.1Q tag control information, if tagged.
    pub vlan_tci: Option<u16>,
    /// Source address and port.
    pub src: SocketAddrV4,
    /// Destination address and port.
    pub dst: SocketAddrV4,
    /// UDP checksum field as received (0: none).
    pub udp_checksum: u16,
    /// Offset of the IPv4 header in the frame.
    pub l3_offset: usize,
    /// UDP payload (bounded by the UDP length field, not by Ethernet padding).
    pub payload: &'a [u8],
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(*bytes.get(at..)?.first_chunk::<2>()?))
}

/// Parses an Ethernet (optionally one 802.1Q tag) / IPv4 / UDP frame.
///
/// # Errors
/// A [`FrameError`] for anything that is not a well-formed, option-less, unfragmented
/// IPv4/UDP frame whose length fields fit the frame.
pub fn parse_udp_frame(frame: &[u8]) -> Result<UdpFrame<'_>, FrameError> {
    let eth: &[u8; ETH_HLEN] = frame.first_chunk().ok_or(FrameError::TruncatedEthernet)?;
    let dst_mac = *eth
        .first_chunk::<6>()
        .ok_or(FrameError::TruncatedEthernet)?;
    let src_mac = *eth[6..]
        .first_chunk::<6>()
        .ok_or(FrameError::TruncatedEthernet)?;
    let mut ethertype = u16::from_be_bytes([eth[12], eth[13]]);
    let mut l3 = ETH_HLEN;
    let mut vlan_tci = None;
    if ethertype == ETH_P_8021Q {
        vlan_tci = Some(be16(frame, ETH_HLEN).ok_or(FrameError::TruncatedEthernet)?);
        ethertype = be16(frame, ETH_HLEN + 2).ok_or(FrameError::TruncatedEthernet)?;
        l3 += VLAN_HLEN;
    }
    if ethertype != ETH_P_IPV4 {
        return Err(FrameError::NotIpv4);
    }
    let ip: &[u8; IPV4_HLEN] = frame
        .get(l3..)
        .and_then(<[u8]>::first_chunk)
        .ok_or(FrameError::BadIpv4Header)?;
    if ip[0] >> 4 != 4 || ip[0] & 0x0f < 5 {
        return Err(FrameError::BadIpv4Header);
    }
    if ip[0] & 0x0f != 5 {
        return Err(FrameError::Ipv4Options);
    }
    if u16::from_be_bytes([ip[6], ip[7]]) & IPV4_FRAGMENT_MASK != 0 {
        return Err(FrameError::Fragment);
    }
    if ip[9] != IPPROTO_UDP {
        return Err(FrameError::NotUdp);
    }
    let ip_total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let l4 = l3 + IPV4_HLEN;
    let udp: &[u8; UDP_HLEN] = frame
        .get(l4..)
        .and_then(<[u8]>::first_chunk)
        .ok_or(FrameError::BadLength)?;
    let udp_len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
    if udp_len < UDP_HLEN || ip_total < IPV4_HLEN + udp_len || l3 + ip_total > frame.len() {
        return Err(FrameError::BadLength);
    }
    let payload = frame
        .get(l4 + UDP_HLEN..l4 + udp_len)
        .ok_or(FrameError::BadLength)?;
    Ok(UdpFrame {
        dst_mac,
        src_mac,
        vlan_tci,
        src: SocketAddrV4::new(
            Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
            u16::from_be_bytes([udp[0], udp[1]]),
        ),
        dst: SocketAddrV4::new(
            Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
            u16::from_be_bytes([udp[2], udp[3]]),
        ),
        udp_checksum: u16::from_be_bytes([udp[6], udp[7]]),
        l3_offset: l3,
        payload,
    })
}

/// Adds `data` to a one's-complement running sum (RFC 1071), 32 bits at a time.
#[inline]
#[must_use]
pub fn checksum_add(mut sum: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(4);
    for word in &mut words {
        // `chunks_exact(4)` yields 4-byte slices.
        sum += u64::from(u32::from_be_bytes([word[0], word[1], word[2], word[3]]));
    }
    let rest = words.remainder();
    let mut tail = [0u8; 4];
    tail[..rest.len()].copy_from_slice(rest);
    sum + u64::from(u32::from_be_bytes(tail))
}

/// Folds a running sum to 16 bits and complements it.
#[inline]
#[must_use]
pub fn checksum_fold(mut sum: u64) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // The loop leaves at most 16 significant bits.
    !(sum as u16)
}

fn pseudo_header_sum(src: [u8; 4], dst: [u8; 4], udp_len: usize) -> u64 {
    let sum = checksum_add(checksum_add(0, &src), &dst);
    sum + u64::from(IPPROTO_UDP) + udp_len as u64
}

/// UDP checksum of the datagram at `l4` (header checksum field must read as zero or be
/// excluded by the caller). Returns `0xffff` for a computed zero, as RFC 768 requires.
fn udp_checksum_at(frame: &[u8], l3: usize, udp_len: usize) -> Option<u16> {
    let src: [u8; 4] = *frame.get(l3 + 12..)?.first_chunk()?;
    let dst: [u8; 4] = *frame.get(l3 + 16..)?.first_chunk()?;
    let l4 = l3 + IPV4_HLEN;
    let header = frame.get(l4..l4 + 6)?;
    let payload = frame.get(l4 + UDP_HLEN..l4 + udp_len)?;
    let sum = checksum_add(
        checksum_add(pseudo_header_sum(src, dst, udp_len), header),
        payload,
    );
    Some(match checksum_fold(sum) {
        0 => 0xffff,
        value => value,
    })
}

/// True when the frame's IPv4 header checksum and UDP checksum (if present) are valid.
#[must_use]
pub fn checksums_valid(frame: &[u8]) -> bool {
    let Ok(parsed) = parse_udp_frame(frame) else {
        return false;
    };
    let l3 = parsed.l3_offset;
    let Some(ip) = frame.get(l3..l3 + IPV4_HLEN) else {
        return false;
    };
    if checksum_fold(checksum_add(0, ip)) != 0 {
        return false;
    }
    if parsed.udp_checksum == 0 {
        return true;
    }
    let udp_len = parsed.payload.len() + UDP_HLEN;
    udp_checksum_at(frame, l3, udp_len) == Some(parsed.udp_checksum)
}

/// Turns a received UDP frame into its reply in place: MACs, addresses and ports swapped,
/// TTL reset, IPv4 and UDP checksums recomputed. The payload is left as it is.
///
/// # Errors
/// [`FrameError`] if `frame` is not a datagram [`parse_udp_frame`] accepts.
pub fn reply_in_place(frame: &mut [u8]) -> Result<(), FrameError> {
    let parsed = parse_udp_frame(frame)?;
    let l3 = parsed.l3_offset;
    let l4 = l3 + IPV4_HLEN;
    let udp_len = parsed.payload.len() + UDP_HLEN;
    // parse_udp_frame proved every offset below lies inside the frame.
    let (macs, rest) = frame.split_at_mut(12);
    let (dst_mac, src_mac) = macs.split_at_mut(6);
    dst_mac.swap_with_slice(src_mac);
    let ip = rest
        .get_mut(l3 - 12..l3 - 12 + IPV4_HLEN)
        .ok_or(FrameError::BadIpv4Header)?;
    let (addr_src, addr_dst) = ip[12..20].split_at_mut(4);
    addr_src.swap_with_slice(addr_dst);
    ip[8] = DEFAULT_TTL;
    ip[10] = 0;
    ip[11] = 0;
    let ip_checksum = checksum_fold(checksum_add(0, ip));
    ip[10..12].copy_from_slice(&ip_checksum.to_be_bytes());
    let udp = frame
        .get_mut(l4..l4 + UDP_HLEN)
        .ok_or(FrameError::BadLength)?;
    let (port_src, port_dst) = udp[0..4].split_at_mut(2);
    port_src.swap_with_slice(port_dst);
    udp[6] = 0;
    udp[7] = 0;
    let udp_checksum = udp_checksum_at(frame, l3, udp_len).ok_or(FrameError::BadLength)?;
    if let Some(field) = frame.get_mut(l4 + 6..l4 + 8) {
        field.copy_from_slice(&udp_checksum.to_be_bytes());
    }
    Ok(())
}

/// Precomputed Ethernet/IPv4/UDP header for one destination.
///
/// Built once at start-up; [`finish`](Self::finish) only adds the per-packet lengths and
/// the payload to the partial sums.
#[derive(Debug, Clone, Copy)]
pub struct UdpHeaderTemplate {
    header: [u8; UDP_FRAME_OVERHEAD],
    /// One's-complement sum of the constant IPv4 header words (length and checksum zero).
    ip_partial: u64,
    /// Pseudo-header sum without the length, plus both ports.
    udp_partial: u64,
    src: SocketAddrV4,
    dst: SocketAddrV4,
}

impl UdpHeaderTemplate {
    /// Template for datagrams `src` -> `dst` between the given MACs (DF set, TTL 64).
    #[must_use]
    pub fn new(src_mac: [u8; 6], dst_mac: [u8; 6], src: SocketAddrV4, dst: SocketAddrV4) -> Self {
        let mut header = [0u8; UDP_FRAME_OVERHEAD];
        header[0..6].copy_from_slice(&dst_mac);
        header[6..12].copy_from_slice(&src_mac);
        header[12..14].copy_from_slice(&ETH_P_IPV4.to_be_bytes());
        let ip = &mut header[ETH_HLEN..ETH_HLEN + IPV4_HLEN];
        ip[0] = 0x45;
        ip[6..8].copy_from_slice(&IPV4_FLAG_DF.to_be_bytes());
        ip[8] = DEFAULT_TTL;
        ip[9] = IPPROTO_UDP;
        ip[12..16].copy_from_slice(&src.ip().octets());
        ip[16..20].copy_from_slice(&dst.ip().octets());
        let ip_partial = checksum_add(0, ip);
        let udp = &mut header[ETH_HLEN + IPV4_HLEN..];
        udp[0..2].copy_from_slice(&src.port().to_be_bytes());
        udp[2..4].copy_from_slice(&dst.port().to_be_bytes());
        let udp_partial = checksum_add(
            pseudo_header_sum(src.ip().octets(), dst.ip().octets(), 0),
            &udp[0..4],
        );
        Self {
            header,
            ip_partial,
            udp_partial,
            src,
            dst,
        }
    }

    /// Source address of the datagrams.
    #[must_use]
    pub fn src(&self) -> SocketAddrV4 {
        self.src
    }

    /// Destination address of the datagrams.
    #[must_use]
    pub fn dst(&self) -> SocketAddrV4 {
        self.dst
    }

    /// Writes the header in front of a payload of `payload_len` bytes already placed at
    /// `frame[UDP_FRAME_OVERHEAD..]`, with lengths and checksums. Returns the frame length.
    ///
    /// # Errors
    /// [`FrameError::TooLarge`] if the payload does not fit `frame` or an IPv4 datagram.
    #[inline]
    pub fn finish(&self, frame: &mut [u8], payload_len: usize) -> Result<usize, FrameError> {
        let frame_len = UDP_FRAME_OVERHEAD + payload_len;
        let udp_len = UDP_HLEN + payload_len;
        let ip_len = u16::try_from(IPV4_HLEN + udp_len).map_err(|_| FrameError::TooLarge)?;
        let frame = frame.get_mut(..frame_len).ok_or(FrameError::TooLarge)?;
        let (header, payload) = frame.split_at_mut(UDP_FRAME_OVERHEAD);
        header.copy_from_slice(&self.header);
        let ip_checksum = checksum_fold(self.ip_partial + u64::from(ip_len));
        header[ETH_HLEN + 2..ETH_HLEN + 4].copy_from_slice(&ip_len.to_be_bytes());
        header[ETH_HLEN + 10..ETH_HLEN + 12].copy_from_slice(&ip_checksum.to_be_bytes());
        // `ip_len` fits u16 and is larger than `udp_len`.
        let udp_len_be = (udp_len as u16).to_be_bytes();
        let l4 = ETH_HLEN + IPV4_HLEN;
        header[l4 + 4..l4 + 6].copy_from_slice(&udp_len_be);
        // The length appears twice in the UDP sum: pseudo header and UDP header.
        let sum = checksum_add(self.udp_partial + 2 * udp_len as u64, payload);
        let udp_checksum = match checksum_fold(sum) {
            0 => 0xffff,
            value => value,
        };
        header[l4 + 6..l4 + 8].copy_from_slice(&udp_checksum.to_be_bytes());
        Ok(frame_len)
    }
}

/// The Ethernet multicast MAC for an IPv4 group (01:00:5e + low 23 bits).
#[must_use]
pub fn multicast_mac(group: Ipv4Addr) -> [u8; 6] {
    let octets = group.octets();
    [0x01, 0x00, 0x5e, octets[1] & 0x7f, octets[2], octets[3]]
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0xaa];
    const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0xbb];

    fn addr(text: &str) -> SocketAddrV4 {
        text.parse().unwrap()
    }

    fn build(payload: &[u8]) -> Vec<u8> {
        let template =
            UdpHeaderTemplate::new(MAC_A, MAC_B, addr("10.0.0.1:4000"), addr("10.0.0.2:9000"));
        let mut frame = vec![0u8; UDP_FRAME_OVERHEAD + payload.len()];
        frame[UDP_FRAME_OVERHEAD..].copy_from_slice(payload);
        let len = template.finish(&mut frame, payload.len()).unwrap();
        assert_eq!(len, frame.len());
        frame
    }

    /// Straightforward 16-bit RFC 1071 checksum, to check the 32-bit-at-a-time version.
    fn reference_checksum(data: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        for pair in data.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            sum += u32::from(word);
        }
        while sum >> 16 != 0 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    #[test]
    fn template_builds_a_frame_that_parses_back() {
        let frame = build(b"hello tickwire");
        let parsed = parse_udp_frame(&frame).unwrap();
        assert_eq!(parsed.src, addr("10.0.0.1:4000"));
        assert_eq!(parsed.dst, addr("10.0.0.2:9000"));
        assert_eq!(parsed.dst_mac, MAC_B);
        assert_eq!(parsed.src_mac, MAC_A);
        assert_eq!(parsed.payload, b"hello tickwire");
        assert!(checksums_valid(&frame));
    }

    #[test]
    fn corrupted_payload_fails_the_checksum() {
        let mut frame = build(b"hello tickwire");
        frame[UDP_FRAME_OVERHEAD] ^= 0x01;
        assert!(!checksums_valid(&frame));
    }

    #[test]
    fn reply_swaps_everything_and_stays_valid() {
        let mut frame = build(b"ping");
        reply_in_place(&mut frame).unwrap();
        let parsed = parse_udp_frame(&frame).unwrap();
        assert_eq!(parsed.src, addr("10.0.0.2:9000"));
        assert_eq!(parsed.dst, addr("10.0.0.1:4000"));
        assert_eq!(parsed.src_mac, MAC_B);
        assert_eq!(parsed.dst_mac, MAC_A);
        assert_eq!(parsed.payload, b"ping");
        assert!(checksums_valid(&frame));
    }

    #[test]
    fn reply_repairs_a_partial_checksum() {
        // veth hands over CHECKSUM_PARTIAL frames: the UDP field holds only the pseudo sum.
        let mut frame = build(b"partial");
        frame[40] = 0x12;
        frame[41] = 0x34;
        assert!(!checksums_valid(&frame));
        reply_in_place(&mut frame).unwrap();
        assert!(checksums_valid(&frame));
    }

    #[test]
    fn vlan_tagged_frames_parse() {
        let plain = build(b"tagged");
        let mut tagged = Vec::new();
        tagged.extend_from_slice(&plain[..12]);
        tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
        tagged.extend_from_slice(&plain[12..]);
        let parsed = parse_udp_frame(&tagged).unwrap();
        assert_eq!(parsed.vlan_tci, Some(100));
        assert_eq!(parsed.payload, b"tagged");
        assert!(checksums_valid(&tagged));
        reply_in_place(&mut tagged).unwrap();
        assert!(checksums_valid(&tagged));
    }

    #[test]
    fn malformed_frames_are_classified() {
        let frame = build(b"x");
        assert_eq!(
            parse_udp_frame(&frame[..10]).unwrap_err(),
            FrameError::TruncatedEthernet
        );
        assert_eq!(
            parse_udp_frame(&frame[..20]).unwrap_err(),
            FrameError::BadIpv4Header
        );
        let mut options = frame.clone();
        options[ETH_HLEN] = 0x46;
        assert_eq!(
            parse_udp_frame(&options).unwrap_err(),
            FrameError::Ipv4Options
        );
        let mut bad_ihl = frame.clone();
        bad_ihl[ETH_HLEN] = 0x43;
        assert_eq!(
            parse_udp_frame(&bad_ihl).unwrap_err(),
            FrameError::BadIpv4Header
        );
        let mut fragment = frame.clone();
        fragment[ETH_HLEN + 6] = 0x20; // more fragments
        assert_eq!(
            parse_udp_frame(&fragment).unwrap_err(),
            FrameError::Fragment
        );
        let mut arp = frame.clone();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(parse_udp_frame(&arp).unwrap_err(), FrameError::NotIpv4);
        let mut long_udp = frame.clone();
        long_udp[ETH_HLEN + IPV4_HLEN + 5] = 200;
        assert_eq!(
            parse_udp_frame(&long_udp).unwrap_err(),
            FrameError::BadLength
        );
        assert_eq!(
            parse_udp_frame(&frame[..frame.len() - 1]).unwrap_err(),
            FrameError::BadLength
        );
    }

    #[test]
    fn finish_rejects_payloads_that_do_not_fit() {
        let template = UdpHeaderTemplate::new(MAC_A, MAC_B, addr("10.0.0.1:1"), addr("10.0.0.2:2"));
        let mut small = [0u8; 64];
        assert_eq!(template.finish(&mut small, 64), Err(FrameError::TooLarge));
        let mut huge = vec![0u8; 70_000];
        assert_eq!(
            template.finish(&mut huge, 66_000),
            Err(FrameError::TooLarge)
        );
    }

    #[test]
    fn multicast_mac_keeps_23_bits() {
        assert_eq!(
            multicast_mac(Ipv4Addr::new(239, 129, 2, 3)),
            [0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]
        );
    }

    proptest! {
        #[test]
        fn checksum_matches_the_16_bit_reference(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(checksum_fold(checksum_add(0, &data)), reference_checksum(&data));
        }

        #[test]
        fn built_frames_always_validate(payload in proptest::collection::vec(any::<u8>(), 0..1400)) {
            let frame = build(&payload);
            prop_assert!(checksums_valid(&frame));
            let parsed = parse_udp_frame(&frame).unwrap();
            prop_assert_eq!(parsed.payload, &payload[..]);
        }

        #[test]
        fn parsing_random_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = parse_udp_frame(&bytes);
            let mut copy = bytes;
            let _ = reply_in_place(&mut copy);
        }
    }
}
