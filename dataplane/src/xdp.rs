//! The XDP steering program: the committed object, loading, attaching, steering entries and
//! counters.
//!
//! The object in `ebpf/obj/` is built by `cargo xtask ebpf` (nightly, bpf-linker) and
//! embedded here, so the data plane builds on stable. Attaching goes through a BPF link:
//! the program is detached when the [`SteeringProgram`] is dropped or the process exits,
//! however it exits.

use std::{fmt, net::Ipv4Addr, os::fd::AsRawFd};

use aya::{
    Ebpf,
    maps::{HashMap, MapData, PerCpuArray, XskMap},
    programs::{Xdp, XdpMode},
};
use tickwire_common::xdp::{
    MAP_COUNTERS, MAP_STEER, MAP_XSKS, PROGRAM_NAME, SteerKey, SteerValue, XdpCounter,
};

/// The compiled XDP program (see `ebpf/obj/tickwire-xdp.stamp` for its provenance).
pub static OBJECT: &[u8] = aya::include_bytes_aligned!("../../ebpf/obj/tickwire-xdp.o");

/// Digest of the eBPF sources this build sees, computed by `build.rs`.
pub const SOURCE_DIGEST: &str = env!("TICKWIRE_EBPF_SOURCE_DIGEST");
/// Digest of the embedded object, computed by `build.rs`.
pub const OBJECT_DIGEST: &str = env!("TICKWIRE_EBPF_OBJECT_DIGEST");
/// The stamp committed next to the object.
pub const STAMP: &str = include_str!("../../ebpf/obj/tickwire-xdp.stamp");

/// Errors of the XDP program layer.
#[derive(Debug, thiserror::Error)]
pub enum XdpError {
    /// The object could not be parsed or its maps created.
    #[error("loading the eBPF object: {0}")]
    Load(#[from] aya::EbpfError),
    /// The verifier rejected the program, or attaching failed.
    #[error("{action} XDP program on {iface}: {source}")]
    Program {
        /// What was being done.
        action: &'static str,
        /// Interface name.
        iface: String,
        /// Underlying error.
        source: aya::programs::ProgramError,
    },
    /// A map operation failed.
    #[error("map {map}: {source}")]
    Map {
        /// Map name.
        map: &'static str,
        /// Underlying error.
        source: aya::maps::MapError,
    },
    /// A map or program is missing from the object (stale object).
    #[error("{0} missing from the eBPF object")]
    Missing(&'static str),
}

/// How to attach the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachMode {
    /// Native (driver) mode, falling back to generic (skb) mode.
    #[default]
    Auto,
    /// Native (driver) mode only.
    Driver,
    /// Generic (skb) mode only.
    Skb,
}

/// The mode an attached program actually runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachedMode {
    /// Native (driver) mode.
    Driver,
    /// Generic (skb) mode.
    Skb,
}

impl fmt::Display for AttachedMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Driver => "driver",
            Self::Skb => "skb",
        })
    }
}

/// Counter totals summed over CPUs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XdpCounters {
    /// Indexed by [`XdpCounter`].
    pub values: [u64; XdpCounter::COUNT as usize],
}

impl XdpCounters {
    /// The total of one counter.
    #[must_use]
    pub fn get(&self, counter: XdpCounter) -> u64 {
        self.values[counter as usize]
    }
}

impl fmt::Display for XdpCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, counter) in XdpCounter::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{}={}", counter.name(), self.get(*counter))?;
        }
        Ok(())
    }
}

/// Loads the embedded object and runs the verifier on the program.
fn load_verified() -> Result<Ebpf, XdpError> {
    let mut ebpf = Ebpf::load(OBJECT)?;
    program_mut(&mut ebpf)?
        .load()
        .map_err(|source| program_error("loading (verifier)", "", source))?;
    Ok(ebpf)
}

fn program_error(
    action: &'static str,
    iface: &str,
    source: aya::programs::ProgramError,
) -> XdpError {
    XdpError::Program {
        action,
        iface: iface.to_owned(),
        source,
    }
}

fn map_error(map: &'static str) -> impl FnOnce(aya::maps::MapError) -> XdpError {
    move |source| XdpError::Map { map, source }
}

fn program_mut(ebpf: &mut Ebpf) -> Result<&mut Xdp, XdpError> {
    ebpf.program_mut(PROGRAM_NAME)
        .ok_or(XdpError::Missing(PROGRAM_NAME))?
        .try_into()
        .map_err(|source| program_error("typing", "", source))
}

fn insert_steer(ebpf: &mut Ebpf, key: SteerKey, value: SteerValue) -> Result<(), XdpError> {
    let map = ebpf
        .map_mut(MAP_STEER)
        .ok_or(XdpError::Missing(MAP_STEER))?;
    let mut steer: HashMap<&mut MapData, SteerKey, SteerValue> =
        HashMap::try_from(map).map_err(map_error(MAP_STEER))?;
    steer.insert(key, value, 0).map_err(map_error(MAP_STEER))
}

fn read_counters(ebpf: &Ebpf) -> Result<XdpCounters, XdpError> {
    let map = ebpf
        .map(MAP_COUNTERS)
        .ok_or(XdpError::Missing(MAP_COUNTERS))?;
    let array: PerCpuArray<&MapData, u64> =
        PerCpuArray::try_from(map).map_err(map_error(MAP_COUNTERS))?;
    let mut totals = XdpCounters::default();
    for counter in XdpCounter::ALL {
        let per_cpu = array
            .get(&(counter as u32), 0)
            .map_err(map_error(MAP_COUNTERS))?;
        totals.values[counter as usize] = per_cpu.iter().sum();
    }
    Ok(totals)
}

/// The loaded steering program, attached to one interface while this value lives.
pub struct SteeringProgram {
    ebpf: Ebpf,
    iface: String,
    mode: AttachedMode,
}

impl fmt::Debug for SteeringProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SteeringProgram")
            .field("iface", &self.iface)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl SteeringProgram {
    /// Loads the embedded object, runs the verifier and attaches to `iface`.
    ///
    /// # Errors
    /// [`XdpError`] if loading, verification or attaching fails (in `Auto` mode: if both
    /// driver and skb mode fail).
    pub fn attach(iface: &str, mode: AttachMode) -> Result<Self, XdpError> {
        let mut ebpf = load_verified()?;
        let program = program_mut(&mut ebpf)?;
        let mut attach = |xdp_mode: XdpMode| {
            program
                .attach(iface, xdp_mode)
                .map(drop)
                .map_err(|source| program_error("attaching", iface, source))
        };
        let attached = match mode {
            AttachMode::Driver => attach(XdpMode::Driver).map(|()| AttachedMode::Driver)?,
            AttachMode::Skb => attach(XdpMode::Skb).map(|()| AttachedMode::Skb)?,
            AttachMode::Auto => match attach(XdpMode::Driver) {
                Ok(()) => AttachedMode::Driver,
                Err(error) => {
                    tracing::info!(%iface, %error, "driver-mode XDP unavailable, trying skb mode");
                    attach(XdpMode::Skb).map(|()| AttachedMode::Skb)?
                }
            },
        };
        tracing::info!(%iface, mode = %attached, "XDP steering program attached");
        Ok(Self {
            ebpf,
            iface: iface.to_owned(),
            mode: attached,
        })
    }

    /// The mode the program runs in.
    #[must_use]
    pub fn mode(&self) -> AttachedMode {
        self.mode
    }

    /// The interface it is attached to.
    #[must_use]
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// Steers datagrams for `addr:port` (`0.0.0.0` for any address) to the AF_XDP socket;
    /// `id` is kept in the map for diagnostics.
    ///
    /// # Errors
    /// [`XdpError::Map`] if the map is full or the update fails.
    pub fn steer(&mut self, addr: Ipv4Addr, port: u16, id: u32) -> Result<(), XdpError> {
        insert_steer(&mut self.ebpf, SteerKey::new(addr, port), SteerValue { id })
    }

    /// Registers an AF_XDP socket for `queue`.
    ///
    /// # Errors
    /// [`XdpError::Map`] if the update fails.
    pub fn register_socket(&mut self, queue: u32, socket: &impl AsRawFd) -> Result<(), XdpError> {
        let map = self
            .ebpf
            .map_mut(MAP_XSKS)
            .ok_or(XdpError::Missing(MAP_XSKS))?;
        let mut xsks = XskMap::try_from(map).map_err(map_error(MAP_XSKS))?;
        xsks.set(queue, socket.as_raw_fd(), 0)
            .map_err(map_error(MAP_XSKS))
    }

    /// Sums the per-CPU counters.
    ///
    /// # Errors
    /// [`XdpError::Map`] if reading fails.
    pub fn counters(&self) -> Result<XdpCounters, XdpError> {
        read_counters(&self.ebpf)
    }
}

/// The program loaded and verified but not attached: run over single frames with
/// `BPF_PROG_TEST_RUN`, for tests and diagnostics.
#[derive(Debug)]
pub struct DetachedProgram {
    ebpf: Ebpf,
}

impl DetachedProgram {
    /// Loads and verifies the program.
    ///
    /// # Errors
    /// [`XdpError`] if loading or verification fails.
    pub fn load() -> Result<Self, XdpError> {
        load_verified().map(|ebpf| Self { ebpf })
    }

    /// Adds a steering entry.
    ///
    /// # Errors
    /// [`XdpError::Map`] if the update fails.
    pub fn steer(&mut self, addr: Ipv4Addr, port: u16) -> Result<(), XdpError> {
        insert_steer(
            &mut self.ebpf,
            SteerKey::new(addr, port),
            SteerValue { id: 0 },
        )
    }

    /// Runs the program over `frame` and returns its XDP verdict.
    ///
    /// # Errors
    /// [`XdpError::Program`] if the test run fails.
    pub fn run(&mut self, frame: &[u8]) -> Result<u32, XdpError> {
        use aya::programs::{TestRun, TestRunOptions};
        let mut options = TestRunOptions::new();
        options.data_in = Some(frame);
        program_mut(&mut self.ebpf)?
            .test_run(options)
            .map(|result| result.return_value)
            .map_err(|source| program_error("test-running", "", source))
    }

    /// Sums the per-CPU counters.
    ///
    /// # Errors
    /// [`XdpError::Map`] if reading fails.
    pub fn counters(&self) -> Result<XdpCounters, XdpError> {
        read_counters(&self.ebpf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamped(key: &str) -> &'static str {
        STAMP
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once('=')?;
                (name.trim() == key).then(|| value.trim().trim_matches('"'))
            })
            .unwrap_or_else(|| panic!("stamp has no {key}"))
    }

    #[test]
    fn committed_object_was_built_from_these_sources() {
        assert_eq!(
            SOURCE_DIGEST,
            stamped("source-sha256"),
            "the eBPF sources changed since ebpf/obj/tickwire-xdp.o was built: run \
             `cargo xtask ebpf` and commit ebpf/obj/"
        );
    }

    #[test]
    fn embedded_object_is_the_stamped_object() {
        assert_eq!(OBJECT_DIGEST, stamped("object-sha256"));
        assert!(OBJECT.starts_with(b"\x7fELF"), "an ELF object");
    }
}
