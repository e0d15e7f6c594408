//! `tickwire_xdp`: steers the exchange's UDP traffic into AF_XDP sockets.
//!
//! Parses Ethernet (with at most one 802.1Q tag), IPv4 and UDP. An option-less,
//! unfragmented IPv4/UDP frame whose (destination address, destination port) is in
//! `TW_STEER` — exact address first, then the wildcard `0.0.0.0` — is redirected to the
//! XSKMAP entry of its rx queue. Everything else, including IPv4 with options, fragments
//! and non-IPv4 frames, is `XDP_PASS`. Frames shorter than the headers they announce are
//! counted as malformed and passed: the kernel drops them with its own accounting.
//!
//! Counters (per CPU): every frame is `seen`, then exactly one of `steered` or `passed`;
//! `malformed` and `redirect_failed` count reasons among the passed ones.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use aya_ebpf::{
    bindings::xdp_action,
    macros::{map, xdp},
    maps::{HashMap, PerCpuArray, XskMap},
    programs::XdpContext,
};
// The kernel/user ABI is `tickwire-common`'s `xdp` module, compiled in from its source file
// so that the object (and its stamp) depends on that file alone, not on the whole crate.
#[path = "../../common/src/xdp.rs"]
#[allow(dead_code, reason = "the user-space half of the ABI is unused here")]
mod abi;

use abi::{STEER_MAX_ENTRIES, SteerKey, SteerValue, XSKS_MAX_ENTRIES, XdpCounter};

#[map(name = "TW_STEER")]
static TW_STEER: HashMap<SteerKey, SteerValue> = HashMap::with_max_entries(STEER_MAX_ENTRIES, 0);

#[map(name = "TW_XSKS")]
static TW_XSKS: XskMap = XskMap::with_max_entries(XSKS_MAX_ENTRIES, 0);

#[map(name = "TW_COUNTERS")]
static TW_COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(XdpCounter::COUNT, 0);

const ETH_HLEN: usize = 14;
const VLAN_HLEN: usize = 4;
const ETH_P_IPV4: u16 = 0x0800;
const ETH_P_8021Q: u16 = 0x8100;
const IPV4_HLEN: usize = 20;
const UDP_HLEN: usize = 8;
const IPPROTO_UDP: u8 = 17;
/// Version 4, IHL 5 (20 bytes, no options).
const IPV4_VERSION_IHL_PLAIN: u8 = 0x45;
/// "More fragments" flag and the 13-bit fragment offset.
const IPV4_FRAGMENT_MASK: u16 = 0x3fff;

/// Why a frame goes to the kernel instead of a socket.
enum Pass {
    /// Well-formed, just not ours (or not steerable: options, fragment, non-IPv4).
    NotOurs,
    /// Shorter than its headers, or an impossible IPv4 version/IHL.
    Malformed,
}

#[inline(always)]
fn bump(counter: XdpCounter) {
    if let Some(slot) = TW_COUNTERS.get_ptr_mut(counter as u32) {
        // SAFETY: per-CPU slot of this CPU; XDP programs do not preempt each other on a CPU.
        unsafe { *slot += 1 };
    }
}

/// Reads a `T` at `offset`, after the bounds check the verifier needs to see.
#[inline(always)]
fn read_at<T: Copy>(ctx: &XdpContext, offset: usize) -> Result<T, Pass> {
    let start = ctx.data();
    let end = ctx.data_end();
    if start + offset + size_of::<T>() > end {
        return Err(Pass::Malformed);
    }
    // SAFETY: `[start + offset, start + offset + size_of::<T>())` lies inside the packet
    // (checked just above); `read_unaligned` has no alignment requirement.
    Ok(unsafe { ((start + offset) as *const T).read_unaligned() })
}

#[xdp]
pub fn tickwire_xdp(ctx: XdpContext) -> u32 {
    bump(XdpCounter::Seen);
    match classify(&ctx) {
        Ok(()) => match TW_XSKS.redirect(ctx.rx_queue_index(), u64::from(xdp_action::XDP_PASS)) {
            Ok(action) => {
                bump(XdpCounter::Steered);
                action
            }
            Err(action) => {
                bump(XdpCounter::RedirectFailed);
                bump(XdpCounter::Passed);
                action
            }
        },
        Err(reason) => {
            if let Pass::Malformed = reason {
                bump(XdpCounter::Malformed);
            }
            bump(XdpCounter::Passed);
            xdp_action::XDP_PASS
        }
    }
}

/// `Ok(())` when the frame is to be steered.
#[inline(always)]
fn classify(ctx: &XdpContext) -> Result<(), Pass> {
    let mut l3 = ETH_HLEN;
    let mut ethertype = u16::from_be_bytes(read_at::<[u8; 2]>(ctx, 12)?);
    if ethertype == ETH_P_8021Q {
        ethertype = u16::from_be_bytes(read_at::<[u8; 2]>(ctx, ETH_HLEN + 2)?);
        l3 += VLAN_HLEN;
    }
    if ethertype != ETH_P_IPV4 {
        return Err(Pass::NotOurs);
    }
    let version_ihl = read_at::<u8>(ctx, l3)?;
    if version_ihl >> 4 != 4 || version_ihl & 0x0f < 5 {
        return Err(Pass::Malformed);
    }
    // The fixed header must be present even when options follow.
    let header = read_at::<[u8; IPV4_HLEN]>(ctx, l3)?;
    if version_ihl != IPV4_VERSION_IHL_PLAIN {
        return Err(Pass::NotOurs);
    }
    if u16::from_be_bytes([header[6], header[7]]) & IPV4_FRAGMENT_MASK != 0 {
        return Err(Pass::NotOurs);
    }
    if header[9] != IPPROTO_UDP {
        return Err(Pass::NotOurs);
    }
    let udp = read_at::<[u8; UDP_HLEN]>(ctx, l3 + IPV4_HLEN)?;
    let mut key = SteerKey {
        addr: [header[16], header[17], header[18], header[19]],
        port_be: [udp[2], udp[3]],
        pad: [0; 2],
    };
    // SAFETY: the value is only tested for presence, never read through the reference.
    if unsafe { TW_STEER.get(&key) }.is_some() {
        return Ok(());
    }
    key.addr = [0; 4];
    // SAFETY: as above.
    if unsafe { TW_STEER.get(&key) }.is_some() {
        return Ok(());
    }
    Err(Pass::NotOurs)
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
