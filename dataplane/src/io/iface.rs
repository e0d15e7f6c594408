//! Interface facts and neighbour resolution, for start-up only (these allocate and may
//! sleep briefly; never call them from the poll loop).

use std::{
    fs,
    net::{Ipv4Addr, SocketAddrV4, UdpSocket},
    os::fd::AsRawFd,
    time::{Duration, Instant},
};

use super::IoError;
use crate::net::multicast_mac;

/// How long to wait for ARP to resolve a next hop.
const ARP_TIMEOUT: Duration = Duration::from_secs(2);
/// How often to re-read the neighbour table while waiting.
const ARP_POLL: Duration = Duration::from_millis(10);
/// `ATF_COM`: the neighbour entry is complete.
const ARP_FLAG_COMPLETE: u32 = 0x2;

/// What the data plane needs to know about its interface.
#[derive(Debug, Clone)]
pub struct InterfaceInfo {
    /// Name.
    pub name: String,
    /// Kernel interface index.
    pub index: u32,
    /// MAC address.
    pub mac: [u8; 6],
    /// First IPv4 address.
    pub ip: Ipv4Addr,
    /// Prefix length of that address.
    pub prefix_len: u8,
}

impl InterfaceInfo {
    /// Looks up `name` in the current network namespace.
    ///
    /// # Errors
    /// [`IoError::Interface`] if it does not exist or has no IPv4 address.
    pub fn lookup(name: &str) -> Result<Self, IoError> {
        let fail = |reason: String| IoError::Interface {
            iface: name.to_owned(),
            reason,
        };
        let c_name = std::ffi::CString::new(name).map_err(|_| fail("name contains NUL".into()))?;
        // SAFETY: `c_name` is a valid NUL-terminated string for the duration of the call.
        let index = unsafe { libc::if_nametoindex(c_name.as_ptr()) };
        if index == 0 {
            return Err(fail("no such interface".into()));
        }
        let mac =
            hardware_address(name).map_err(|error| fail(format!("reading its MAC: {error}")))?;
        let (ip, prefix_len) = ipv4_of(name)?.ok_or_else(|| fail("has no IPv4 address".into()))?;
        Ok(Self {
            name: name.to_owned(),
            index,
            mac,
            ip,
            prefix_len,
        })
    }

    /// True when `addr` is on this interface's subnet.
    #[must_use]
    pub fn on_link(&self, addr: Ipv4Addr) -> bool {
        let mask = u32::MAX
            .checked_shl(32 - u32::from(self.prefix_len))
            .unwrap_or(0);
        u32::from(addr) & mask == u32::from(self.ip) & mask
    }
}

/// Parses `aa:bb:cc:dd:ee:ff`.
#[must_use]
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// The MAC address of `iface` via `SIOCGIFHWADDR`: unlike `/sys/class/net`, an ioctl on a
/// socket answers for the calling thread's network namespace (tests enter namespaces per
/// thread).
fn hardware_address(iface: &str) -> std::io::Result<[u8; 6]> {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .or_else(|_| UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)))?;
    // SAFETY: all-zero is a valid `ifreq`.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    let name = iface.as_bytes();
    if name.len() >= request.ifr_name.len() {
        return Err(std::io::Error::other("interface name too long"));
    }
    for (slot, byte) in request.ifr_name.iter_mut().zip(name) {
        // `c_char` is `i8` on x86_64: the byte is reinterpreted, not converted.
        *slot = byte.cast_signed();
    }
    // SAFETY: `request` is a valid `ifreq` with a NUL-terminated name; the kernel writes
    // the hardware address into its union.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFHWADDR, &raw mut request) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: after SIOCGIFHWADDR the union holds `ifru_hwaddr`.
    let hwaddr = unsafe { request.ifr_ifru.ifru_hwaddr };
    let mut mac = [0u8; 6];
    for (out, byte) in mac.iter_mut().zip(hwaddr.sa_data) {
        *out = byte.cast_unsigned();
    }
    Ok(mac)
}

/// The first IPv4 address and prefix length of `iface`, via `getifaddrs`.
fn ipv4_of(iface: &str) -> Result<Option<(Ipv4Addr, u8)>, IoError> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: `getifaddrs` writes a list head into `list`, freed below with `freeifaddrs`.
    if unsafe { libc::getifaddrs(&raw mut list) } != 0 {
        return Err(IoError::os("getifaddrs"));
    }
    let mut found = None;
    let mut cursor = list;
    while !cursor.is_null() {
        // SAFETY: `cursor` is a non-null node of the list `getifaddrs` returned.
        let entry = unsafe { &*cursor };
        cursor = entry.ifa_next;
        if entry.ifa_addr.is_null() || entry.ifa_name.is_null() {
            continue;
        }
        // SAFETY: `ifa_name` is a NUL-terminated string owned by the list.
        let name = unsafe { std::ffi::CStr::from_ptr(entry.ifa_name) };
        // SAFETY: `ifa_addr` is non-null and points at a sockaddr of at least family size.
        let family = unsafe { (*entry.ifa_addr).sa_family };
        if name.to_bytes() != iface.as_bytes() || i32::from(family) != libc::AF_INET {
            continue;
        }
        // SAFETY: the family is AF_INET, so the address is a `sockaddr_in`.
        let addr = unsafe { *entry.ifa_addr.cast::<libc::sockaddr_in>() };
        let ip = Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr));
        let prefix_len = if entry.ifa_netmask.is_null() {
            32
        } else {
            // SAFETY: the netmask of an AF_INET address is a `sockaddr_in`.
            let mask = unsafe { *entry.ifa_netmask.cast::<libc::sockaddr_in>() };
            // `count_ones` of a u32 is at most 32.
            u32::from_be(mask.sin_addr.s_addr).count_ones() as u8
        };
        found = Some((ip, prefix_len));
        break;
    }
    // SAFETY: `list` came from a successful `getifaddrs` and is freed exactly once.
    unsafe { libc::freeifaddrs(list) };
    Ok(found)
}

/// The default gateway of `iface` from the calling thread's routing table, if any.
fn default_gateway(iface: &str) -> Option<Ipv4Addr> {
    let table = fs::read_to_string("/proc/thread-self/net/route").ok()?;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (name, destination, gateway) = (fields.first()?, fields.get(1)?, fields.get(2)?);
        if *name != iface || *destination != "00000000" {
            return None;
        }
        // /proc/net/route prints the in-memory (network-order) address as a native integer.
        let raw = u32::from_str_radix(gateway, 16).ok()?;
        Some(Ipv4Addr::from(raw.to_ne_bytes()))
    })
}

/// A complete entry for `ip` on `iface` in the calling thread's neighbour table.
fn arp_entry(iface: &str, ip: Ipv4Addr) -> Option<[u8; 6]> {
    let table = fs::read_to_string("/proc/thread-self/net/arp").ok()?;
    let ip_text = ip.to_string();
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 6 || fields[0] != ip_text || fields[5] != iface {
            return None;
        }
        let flags = u32::from_str_radix(fields[2].trim_start_matches("0x"), 16).ok()?;
        if flags & ARP_FLAG_COMPLETE == 0 {
            return None;
        }
        parse_mac(fields[3])
    })
}

/// The MAC address frames to `dst` must carry: the multicast MAC for a group, the
/// neighbour's MAC on-link, the gateway's otherwise. Triggers ARP through the kernel when
/// the neighbour is not yet known.
///
/// # Errors
/// [`IoError::Unresolved`] if ARP does not answer within two seconds.
pub fn resolve_next_hop(info: &InterfaceInfo, dst: Ipv4Addr) -> Result<[u8; 6], IoError> {
    if dst.is_multicast() {
        return Ok(multicast_mac(dst));
    }
    if dst.is_broadcast() {
        return Ok([0xff; 6]);
    }
    let next_hop = if info.on_link(dst) {
        dst
    } else {
        default_gateway(&info.name).ok_or(IoError::Unresolved(dst))?
    };
    if let Some(mac) = arp_entry(&info.name, next_hop) {
        return Ok(mac);
    }
    // Let the kernel resolve it: a datagram to the discard port makes it send an ARP request.
    let probe = UdpSocket::bind((info.ip, 0)).map_err(|source| IoError::Os {
        call: "bind (ARP probe)",
        source,
    })?;
    let deadline = Instant::now() + ARP_TIMEOUT;
    while Instant::now() < deadline {
        // Errors (e.g. EHOSTUNREACH while incomplete) only mean "not yet".
        let _ = probe.send_to(&[], SocketAddrV4::new(next_hop, 9));
        std::thread::sleep(ARP_POLL);
        if let Some(mac) = arp_entry(&info.name, next_hop) {
            return Ok(mac);
        }
    }
    Err(IoError::Unresolved(next_hop))
}

/// Joins multicast `group` on the interface through `socket` (IGMP), so switches and the
/// NIC's filter deliver the group even though AF_XDP takes the frames.
///
/// # Errors
/// [`IoError::Os`] if `IP_ADD_MEMBERSHIP` fails.
pub fn join_multicast(
    socket: &UdpSocket,
    info: &InterfaceInfo,
    group: Ipv4Addr,
) -> Result<(), IoError> {
    let request = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr {
            s_addr: u32::from(group).to_be(),
        },
        imr_address: libc::in_addr {
            s_addr: u32::from(info.ip).to_be(),
        },
        imr_ifindex: i32::try_from(info.index).unwrap_or(0),
    };
    set_socket_option(
        socket,
        libc::IPPROTO_IP,
        libc::IP_ADD_MEMBERSHIP,
        &request,
        "setsockopt(IP_ADD_MEMBERSHIP)",
    )
}

/// `setsockopt` with a typed value.
pub(crate) fn set_socket_option<T>(
    socket: &impl AsRawFd,
    level: i32,
    name: i32,
    value: &T,
    call: &'static str,
) -> Result<(), IoError> {
    // SAFETY: `value` points at a live `T` of exactly the length passed.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            std::ptr::from_ref(value).cast(),
            // Option values are a few bytes.
            size_of::<T>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(IoError::os(call))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_macs_strictly() {
        assert_eq!(
            parse_mac("02:00:0a:4d:00:01"),
            Some([2, 0, 0x0a, 0x4d, 0, 1])
        );
        assert_eq!(parse_mac("02:00:0a:4d:00"), None);
        assert_eq!(parse_mac("02:00:0a:4d:00:01:02"), None);
        assert_eq!(parse_mac("zz:00:0a:4d:00:01"), None);
    }

    #[test]
    fn on_link_uses_the_prefix() {
        let info = InterfaceInfo {
            name: "x".into(),
            index: 1,
            mac: [0; 6],
            ip: Ipv4Addr::new(10, 77, 0, 1),
            prefix_len: 24,
        };
        assert!(info.on_link(Ipv4Addr::new(10, 77, 0, 200)));
        assert!(!info.on_link(Ipv4Addr::new(10, 77, 1, 2)));
        let host_route = InterfaceInfo {
            prefix_len: 0,
            ..info
        };
        assert!(host_route.on_link(Ipv4Addr::new(192, 168, 1, 1)));
    }
}
