//! A private network namespace per test (the LAN-service tests): nothing
//! sent in it can reach a real network, broadcast and multicast included.
//!
//! ```ignore
//! #[tokio::test]
//! async fn a_test() {
//!     if !in_namespace("a_test", Loopback::Multicast) {
//!         return; // the test ran (and passed) in its namespace
//!     }
//!     // ... the test body, inside the namespace ...
//! }
//! ```

use std::process::Command;

/// Set in the child: "you are inside the namespace, run the body".
const NETNS_ENV: &str = "ROOMCTL_TEST_IN_NETNS";

/// How loopback is set up inside the namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loopback {
    /// `lo` up, MULTICAST on, 224.0.0.0/4 routed to it.
    Multicast,
    /// `lo` up only (as on a stock host).
    Plain,
    /// `lo` up and a LAN: veth `v0` 10.9.0.1/24 (its peer leads nowhere),
    /// the default route through it, for the `lan` profile's defaults.
    Lan,
    /// `lo` up and a veth pair with an address at each end:
    /// [`VETH_SERVER`] on `v0`, [`VETH_CLIENT`] on `v1`: a server on one
    /// LAN address and a client on another, neither of them loopback.
    /// (Both ends are in this namespace, so the kernel delivers between
    /// them locally; what the server sees is a client at 10.77.0.2.)
    VethPair,
}

/// The server's end of [`Loopback::VethPair`].
pub const VETH_SERVER: &str = "10.77.0.1";
/// The client's end of [`Loopback::VethPair`].
pub const VETH_CLIENT: &str = "10.77.0.2";

/// The namespace LAN's address of this host ([`Loopback::Lan`]).
pub const LAN_ADDRESS: &str = "10.9.0.1";

/// Runs the calling test inside a fresh network namespace of its own.
///
/// Outside the namespace: re-runs this test binary, filtered to exactly
/// `test`, under `unshare -n`, and returns `false` (the caller returns)
/// once the child passed having run exactly that one test. It panics when
/// `unshare -n` cannot be used (not installed, no root nor user
/// namespaces), when the child fails, and when the child ran no test or
/// more than one (a misspelt name). Inside: sets up loopback and returns
/// `true` (the caller runs the test body).
pub fn in_namespace(test: &str, lo: Loopback) -> bool {
    if std::env::var_os(NETNS_ENV).is_some() {
        set_up(lo);
        return true;
    }
    if let Some(why) = namespace_problem("unshare") {
        panic!("{test} needs its own network namespace, but {why}");
    }
    super::process::rerun(test, &["unshare", "-n"], NETNS_ENV, "its network namespace");
    false
}

/// Why `unshare -n` (run as `program`) cannot give a test a network
/// namespace; `None` when it can.
pub fn namespace_problem(program: &str) -> Option<String> {
    match Command::new(program).args(["-n", "true"]).status() {
        Ok(s) if s.success() => None,
        Ok(s) => Some(format!(
            "`{program} -n` failed ({s}): run the tests as root or allow unprivileged user namespaces"
        )),
        Err(e) => Some(format!(
            "`{program}` cannot be run ({e}): install util-linux (and iproute2 for `ip`)"
        )),
    }
}

fn set_up(lo: Loopback) {
    let mut script = String::from("ip link set lo up");
    match lo {
        Loopback::Multicast => {
            script.push_str(" && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo")
        }
        Loopback::Plain => {}
        Loopback::Lan => script.push_str(&format!(
            " && ip link add v0 type veth peer name v1 && ip link set v1 up \
             && ip addr add {LAN_ADDRESS}/24 dev v0 && ip link set v0 up \
             && ip route add default dev v0"
        )),
        Loopback::VethPair => script.push_str(&format!(
            " && ip link add v0 type veth peer name v1 \
             && ip addr add {VETH_SERVER}/24 dev v0 && ip addr add {VETH_CLIENT}/24 dev v1 \
             && ip link set v0 up && ip link set v1 up"
        )),
    }
    let ok = Command::new("sh")
        .args(["-c", &script])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "cannot set up loopback in the namespace: {script}");
}
