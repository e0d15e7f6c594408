//! Test topology: two network namespaces joined by a veth pair, for integration tests,
//! benchmarks and the demo (`cargo xtask netns up|down`).
//!
//! With the default prefix `tw`:
//!
//! | namespace | interface | address | role |
//! |---|---|---|---|
//! | `tw-gw` | `tw-gw0` | 10.77.0.1/24 | data plane (XDP, AF_XDP) |
//! | `tw-venue` | `tw-venue0` | 10.77.0.2/24 | venue / peer |
//!
//! A [`Topology`] created by [`Topology::create`] deletes its namespaces when dropped
//! (deleting a namespace deletes its veth end and detaches any XDP program with it).

use std::{
    io::Write as _,
    net::Ipv4Addr,
    os::fd::AsRawFd,
    process::{Command, Output},
};

/// Default name prefix.
pub const DEFAULT_PREFIX: &str = "tw";
/// Address of the data-plane side.
pub const GATEWAY_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// Address of the venue side.
pub const VENUE_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
/// Prefix length of the link.
pub const PREFIX_LEN: u8 = 24;

/// Errors creating or using the topology.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    /// `ip` could not be run.
    #[error("running `ip {args}`: {source}")]
    Spawn {
        /// Arguments.
        args: String,
        /// Error.
        source: std::io::Error,
    },
    /// `ip` failed.
    #[error("`ip {args}` failed: {stderr}")]
    Command {
        /// Arguments.
        args: String,
        /// What it printed.
        stderr: String,
    },
    /// A name is too long for an interface.
    #[error("prefix {0:?} too long (at most 8 characters)")]
    Prefix(String),
    /// Entering a namespace failed.
    #[error("entering namespace {name}: {source}")]
    Enter {
        /// Namespace.
        name: String,
        /// Error.
        source: std::io::Error,
    },
}

/// Runs `ip` with `args`.
///
/// # Errors
/// [`NetnsError`] if it cannot run or exits non-zero.
pub fn ip(args: &[&str]) -> Result<Output, NetnsError> {
    let joined = args.join(" ");
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|source| NetnsError::Spawn {
            args: joined.clone(),
            source,
        })?;
    if !output.status.success() {
        return Err(NetnsError::Command {
            args: joined,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(output)
}

/// Names and addresses of a two-namespace topology.
#[derive(Debug)]
pub struct Topology {
    /// Data-plane namespace.
    pub gateway_ns: String,
    /// Data-plane interface.
    pub gateway_iface: String,
    /// Venue namespace.
    pub venue_ns: String,
    /// Venue interface.
    pub venue_iface: String,
    /// Data-plane address.
    pub gateway_ip: Ipv4Addr,
    /// Venue address.
    pub venue_ip: Ipv4Addr,
    owned: bool,
}

impl Topology {
    /// The names for `prefix`, without creating anything.
    ///
    /// # Errors
    /// [`NetnsError::Prefix`] if interface names would exceed 15 characters.
    pub fn named(prefix: &str) -> Result<Self, NetnsError> {
        if prefix.len() > 8 || prefix.is_empty() {
            return Err(NetnsError::Prefix(prefix.to_owned()));
        }
        Ok(Self {
            gateway_ns: format!("{prefix}-gw"),
            gateway_iface: format!("{prefix}-gw0"),
            venue_ns: format!("{prefix}-venue"),
            venue_iface: format!("{prefix}-venue0"),
            gateway_ip: GATEWAY_IP,
            venue_ip: VENUE_IP,
            owned: false,
        })
    }

    /// Creates both namespaces and the veth pair; they are deleted when the value drops.
    /// Leftovers of an earlier run with the same prefix are removed first.
    ///
    /// # Errors
    /// [`NetnsError`] if any `ip` command fails (typically: not root).
    pub fn create(prefix: &str) -> Result<Self, NetnsError> {
        let mut topology = Self::named(prefix)?;
        topology.destroy();
        topology.owned = true;
        let gateway_cidr = format!("{}/{PREFIX_LEN}", topology.gateway_ip);
        let venue_cidr = format!("{}/{PREFIX_LEN}", topology.venue_ip);
        let (gw, venue) = (&topology.gateway_ns, &topology.venue_ns);
        let (gw_if, venue_if) = (&topology.gateway_iface, &topology.venue_iface);
        ip(&["netns", "add", gw])?;
        ip(&["netns", "add", venue])?;
        ip(&[
            "link", "add", gw_if, "netns", gw, "type", "veth", "peer", "name", venue_if, "netns",
            venue,
        ])?;
        ip(&["-n", gw, "addr", "add", &gateway_cidr, "dev", gw_if])?;
        ip(&["-n", venue, "addr", "add", &venue_cidr, "dev", venue_if])?;
        for (ns, iface) in [(gw, gw_if), (venue, venue_if)] {
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            ip(&["-n", ns, "link", "set", iface, "up"])?;
            // Multicast feeds leave through the link (no default route in these namespaces).
            ip(&["-n", ns, "route", "add", "224.0.0.0/4", "dev", iface])?;
        }
        Ok(topology)
    }

    /// Keeps the namespaces after this value drops (for `xtask netns up`).
    pub fn persist(mut self) {
        self.owned = false;
    }

    /// Deletes both namespaces (ignoring ones that do not exist).
    pub fn destroy(&self) {
        for ns in [&self.gateway_ns, &self.venue_ns] {
            let _ = ip(&["netns", "delete", ns]);
        }
    }

    /// A command that runs `program` inside namespace `ns`.
    #[must_use]
    pub fn command_in(ns: &str, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", ns, program]);
        command
    }

    /// Moves the calling thread into namespace `ns` until the guard drops.
    ///
    /// # Errors
    /// [`NetnsError::Enter`] if the namespace does not exist or `setns` fails.
    pub fn enter(ns: &str) -> Result<NamespaceGuard, NetnsError> {
        let fail = |source| NetnsError::Enter {
            name: ns.to_owned(),
            source,
        };
        let original = std::fs::File::open("/proc/thread-self/ns/net").map_err(fail)?;
        let target = std::fs::File::open(format!("/run/netns/{ns}")).map_err(fail)?;
        // SAFETY: `target` is an open namespace file descriptor.
        if unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(fail(std::io::Error::last_os_error()));
        }
        Ok(NamespaceGuard { original })
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        if self.owned {
            self.destroy();
        }
    }
}

/// Returns the thread to its original network namespace when dropped.
#[derive(Debug)]
pub struct NamespaceGuard {
    original: std::fs::File,
}

impl Drop for NamespaceGuard {
    fn drop(&mut self) {
        // SAFETY: `original` is the namespace file this thread was in.
        let result = unsafe { libc::setns(self.original.as_raw_fd(), libc::CLONE_NEWNET) };
        debug_assert_eq!(result, 0, "returning to the original network namespace");
    }
}

/// True when namespace `ns` exists.
#[must_use]
pub fn namespace_exists(ns: &str) -> bool {
    std::path::Path::new("/run/netns").join(ns).exists()
}

/// True when an XDP program is attached to `iface` in namespace `ns`.
///
/// # Errors
/// [`NetnsError`] if the link cannot be listed.
pub fn xdp_attached(ns: &str, iface: &str) -> Result<bool, NetnsError> {
    let output = ip(&["-n", ns, "-d", "link", "show", "dev", iface])?;
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text.contains("prog/xdp") || text.contains(" xdp"))
}

/// Environment variable that turns a privilege skip of the XDP integration tests into a
/// failure (CI sets it to 1).
pub const REQUIRE_XDP_ENV: &str = "TICKWIRE_REQUIRE_XDP";

/// Why the XDP integration tests cannot run in this process, if they cannot.
#[must_use]
pub fn xdp_unavailable_reason() -> Option<String> {
    // SAFETY: `geteuid` has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some(
            "not running as root (needs CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN for network \
             namespaces)"
                .into(),
        );
    }
    if Command::new("ip").arg("-V").output().is_err() {
        return Some("iproute2 (`ip`) is not installed".into());
    }
    if !std::path::Path::new("/proc/thread-self/ns/net").exists() {
        return Some("no network namespace support".into());
    }
    None
}

/// For integration tests: `true` to run; `false` after printing why the test is skipped.
///
/// # Panics
/// Instead of skipping, when [`REQUIRE_XDP_ENV`] is `1`.
#[must_use]
pub fn xdp_tests_enabled(test: &str) -> bool {
    let Some(reason) = xdp_unavailable_reason() else {
        return true;
    };
    assert!(
        std::env::var(REQUIRE_XDP_ENV).as_deref() != Ok("1"),
        "{test}: XDP tests are required ({REQUIRE_XDP_ENV}=1) but cannot run: {reason}"
    );
    // Written to the stderr handle directly: libtest captures `eprintln!` of passing tests,
    // and a skip must be visible.
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
    false
}
