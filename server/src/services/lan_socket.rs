//! UDP sockets of the LAN services and their command-line clients, with the
//! options std and tokio do not expose (socket2): a shared port
//! (`SO_REUSEADDR`, so several controllers, `roomctl discover` and
//! `roomctl watch` can all listen on 8000/8001 of one host), broadcast, and
//! multicast membership on a chosen interface.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

/// A UDP socket on `addr` that shares its port and may send broadcasts.
pub fn shared_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket.set_broadcast(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// Where to listen for datagrams sent to `broadcast:port` when the service
/// itself is bound to a single address (a socket bound to 127.0.0.1 does not
/// receive what is sent to 127.255.255.255). `None` when the bound socket
/// already receives broadcasts (bound to 0.0.0.0) or there is no IPv4
/// broadcast address.
pub fn broadcast_listen_addr(bound: IpAddr, broadcast: IpAddr, port: u16) -> Option<SocketAddr> {
    match (bound, broadcast) {
        (IpAddr::V4(b), IpAddr::V4(bc)) if !b.is_unspecified() && b != bc => {
            Some(SocketAddr::new(bc.into(), port))
        }
        _ => None,
    }
}

/// This machine's IPv4 networks that have a broadcast address: address,
/// netmask and broadcast address.
fn ipv4_networks() -> Vec<(Ipv4Addr, Ipv4Addr, Ipv4Addr)> {
    let Ok(interfaces) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    interfaces
        .into_iter()
        .filter_map(|i| match i.addr {
            if_addrs::IfAddr::V4(a) if !a.ip.is_loopback() => {
                let broadcast = broadcast_of(a.ip, a.netmask, a.broadcast)?;
                Some((a.ip, a.netmask, broadcast))
            }
            _ => None,
        })
        .collect()
}

/// The broadcast address of `ip` with `netmask`: the one the interface
/// reports, or else the last address of the network. An address added
/// without one (`ip addr add 10.77.0.21/24 dev eth0`, no `brd`) reports
/// none, or its own address (glibc's getifaddrs puts the address itself
/// where the broadcast address goes); the kernel still routes the
/// network's last address as broadcast. `/31` and `/32` have none.
pub fn broadcast_of(
    ip: Ipv4Addr,
    netmask: Ipv4Addr,
    reported: Option<Ipv4Addr>,
) -> Option<Ipv4Addr> {
    if let Some(b) = reported.filter(|b| !b.is_unspecified() && *b != ip) {
        return Some(b);
    }
    let mask = u32::from(netmask);
    if mask.count_ones() >= 31 {
        return None;
    }
    Some(Ipv4Addr::from(u32::from(ip) | !mask))
}

/// The broadcast address of this machine's network that `peer` is on (the
/// answer to a broadcast request goes back to the network it came from,
/// even where 255.255.255.255 has no route: a LAN without a gateway).
pub fn subnet_broadcast_towards(peer: Ipv4Addr) -> Option<Ipv4Addr> {
    let peer = u32::from(peer);
    ipv4_networks()
        .into_iter()
        .find(|(ip, mask, _)| u32::from(*ip) & u32::from(*mask) == peer & u32::from(*mask))
        .map(|(_, _, broadcast)| broadcast)
}

/// The broadcast addresses of this machine's IPv4 networks (loopback aside).
pub fn subnet_broadcasts() -> Vec<Ipv4Addr> {
    let mut all: Vec<Ipv4Addr> = ipv4_networks().into_iter().map(|(_, _, b)| b).collect();
    all.dedup();
    all
}

/// The local address this machine uses to reach `peer` (no packet is sent:
/// connecting a UDP socket only chooses a route).
pub fn local_address_towards(peer: SocketAddr) -> Option<IpAddr> {
    let any: SocketAddr = match peer {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let s = std::net::UdpSocket::bind(any).ok()?;
    s.connect(peer).ok()?;
    s.local_addr().ok().map(|a| a.ip())
}

/// Why multicast cannot be used on `interface`, when it cannot.
///
/// On loopback (the development default) the interface needs the MULTICAST
/// flag; the kernel accepts a join without it, but then the traffic would
/// have to leave by another interface, which development runs must never do.
pub fn multicast_unavailable(interface: Ipv4Addr) -> Option<String> {
    if !interface.is_loopback() {
        return None;
    }
    match loopback_has_multicast() {
        Ok(true) => None,
        Ok(false) => Some(
            "the loopback interface has no MULTICAST flag, so extension traffic cannot stay on this host \
             (as root: `ip link set lo multicast on; ip route add 224.0.0.0/4 dev lo`), \
             or set [extension] interface to the LAN address, or enabled = false"
                .into(),
        ),
        Err(e) => Some(format!("cannot read the loopback interface's flags: {e}")),
    }
}

/// Whether `lo` has IFF_MULTICAST, asked of the kernel for this process's
/// network namespace (/sys/class/net shows the namespace sysfs was mounted
/// in, which is not ours inside `unshare -n`).
#[cfg(target_os = "linux")]
fn loopback_has_multicast() -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    let probe = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    // SAFETY: ifreq is plain old data; SIOCGIFFLAGS reads the name and
    // writes the flags into the struct we own, on a socket we own.
    unsafe {
        let mut req: libc::ifreq = std::mem::zeroed();
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        if libc::ioctl(probe.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(req.ifr_ifru.ifru_flags as libc::c_int & libc::IFF_MULTICAST != 0)
    }
}

#[cfg(not(target_os = "linux"))]
fn loopback_has_multicast() -> io::Result<bool> {
    Ok(true)
}

/// A socket in multicast `group` on `interface`: joined (so the kernel
/// reports membership by IGMP), sending with `ttl` and looping back to
/// other sockets of this host (keypads simulated on the same machine).
pub fn multicast_udp(
    group: Ipv4Addr,
    port: u16,
    interface: Ipv4Addr,
    ttl: u32,
) -> io::Result<UdpSocket> {
    if let Some(why) = multicast_unavailable(interface) {
        return Err(io::Error::other(why));
    }
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    // Bound to the group address, the socket receives only the group's
    // traffic, not unicast datagrams to the same port.
    socket.bind(&SocketAddrV4::new(group, port).into())?;
    socket.set_multicast_if_v4(&interface)?;
    socket.set_multicast_ttl_v4(ttl)?;
    socket.set_multicast_loop_v4(true)?;
    socket.join_multicast_v4(&group, &interface)?;
    UdpSocket::from_std(socket.into())
}

#[cfg(test)]
mod tests {
    use super::broadcast_of;
    use std::net::Ipv4Addr;

    #[test]
    fn a_missing_broadcast_address_is_computed_from_address_and_prefix() {
        let ip = Ipv4Addr::new(10, 77, 0, 21);
        let mask24 = Ipv4Addr::new(255, 255, 255, 0);
        let net = Some(Ipv4Addr::new(10, 77, 0, 255));
        assert_eq!(broadcast_of(ip, mask24, None), net);
        assert_eq!(broadcast_of(ip, mask24, Some(ip)), net, "own address");
        assert_eq!(broadcast_of(ip, mask24, Some(Ipv4Addr::UNSPECIFIED)), net);
        let set = Some(Ipv4Addr::new(10, 77, 0, 127));
        assert_eq!(broadcast_of(ip, mask24, set), set, "as configured");
        let mask22 = Ipv4Addr::new(255, 255, 252, 0);
        assert_eq!(
            broadcast_of(Ipv4Addr::new(10, 0, 5, 9), mask22, None),
            Some(Ipv4Addr::new(10, 0, 7, 255))
        );
        for no_broadcast in [Ipv4Addr::new(255, 255, 255, 254), Ipv4Addr::BROADCAST] {
            assert_eq!(broadcast_of(ip, no_broadcast, None), None);
        }
    }
}
