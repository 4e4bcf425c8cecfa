//! Finding devices on the LAN (issue 22, item 7): the controller on
//! 10.77.0.1 searches (PJLink class 2 broadcast to the subnet, SSDP and
//! mDNS to their multicast groups); simulated devices of library drivers
//! answer from other addresses of the test's own network namespace
//! (10.77.0.2 to .6 on the far end of a veth pair); the status page lists
//! each with the driver its answer suggests (a Sennheiser SSC receiver,
//! found by its `_ssc._udp` DNS-SD announcement, with the SSC driver). A device that answers SSDP without a
//! matching driver is listed with none; a silent one is not listed.

use crate::support;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use controller_core::driver::discovery::mdns::MDNS_GROUP;
use controller_core::driver::discovery::{
    ssdp_answer, FoundBy, FoundDevice, SsdpAnswer, SSDP_GROUP,
};
use controller_core::driver::library::Library;
use controller_core::driver::simulator::Fault;
use controller_core::driver::Value;
use roomctl::security::auth::Role;
use roomctl::services::lan_socket::multicast_udp;
use roomctl::simulator::driver::DriverSimulator;
use support::http::{cookie_of, get_with_cookie, post_form};
use support::netns::{in_namespace, Loopback, VETH_CLIENT, VETH_SERVER};
use support::{eventually, TestSettings};

/// Two more addresses on the devices' end of the veth pair.
const SONY_ADDRESS: &str = "10.77.0.3";
const PRINTER_ADDRESS: &str = "10.77.0.4";
const SILENT_ADDRESS: &str = "10.77.0.5";
const MIC_ADDRESS: &str = "10.77.0.6";

async fn simulated(id: &str, ip: &str, fault: Fault) -> DriverSimulator {
    let library = Library::builtin();
    let driver = Arc::clone(library.get(id).unwrap());
    let settings: BTreeMap<String, Value> = driver
        .settings
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.default.clone().unwrap_or_else(|| s.kind.sample()),
            )
        })
        .collect();
    let mut sim =
        DriverSimulator::start(driver, settings, fault, format!("{ip}:0").parse().unwrap())
            .await
            .unwrap();
    let heard = sim.answer_searches(ip.parse().unwrap()).await.unwrap();
    assert!(!heard.is_empty(), "{id} declares a search");
    sim
}

/// Whether `f` is the device at `address`, found by `found_by`, with
/// exactly the `suggested` drivers.
fn is(f: &FoundDevice, address: &str, found_by: FoundBy, suggested: &[&str]) -> bool {
    f.address == address && f.found_by == found_by && f.suggested == suggested
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_devices_on_the_lan_are_found_with_their_drivers() {
    if !in_namespace(
        "simulated_devices_on_the_lan_are_found_with_their_drivers",
        Loopback::VethPair,
    ) {
        return;
    }
    for ip in [SONY_ADDRESS, PRINTER_ADDRESS, SILENT_ADDRESS, MIC_ADDRESS] {
        let ok = Command::new("ip")
            .args(["addr", "add", &format!("{ip}/24"), "dev", "v1"])
            .status()
            .unwrap()
            .success();
        assert!(ok, "add {ip} to v1");
    }
    // Both ends of the veth pair are in this namespace, so a multicast
    // search that crosses to v1 carries a source address of this host:
    // the kernel drops such a datagram as martian unless v1 accepts it.
    // (Unicast and broadcast are delivered locally and need nothing.)
    for (key, value) in [
        ("all/rp_filter", "0"),
        ("v1/rp_filter", "0"),
        ("v1/accept_local", "1"),
    ] {
        std::fs::write(format!("/proc/sys/net/ipv4/conf/{key}"), value)
            .unwrap_or_else(|e| panic!("set {key} in the test's namespace: {e}"));
    }
    // The devices: a PJLink class 2 projector, a Sony BRAVIA display, a
    // silent projector, and an SSDP device no driver fits (a printer).
    let projector = simulated("pjlink-class2", VETH_CLIENT, Fault::None).await;
    let display = simulated("sony-bravia", SONY_ADDRESS, Fault::None).await;
    let silent = simulated("pjlink-class2", SILENT_ADDRESS, Fault::Silent).await;
    let mic = simulated("sennheiser-ssc-slmcr", MIC_ADDRESS, Fault::None).await;
    let printer = multicast_udp(SSDP_GROUP, 1900, PRINTER_ADDRESS.parse().unwrap(), 1).unwrap();
    let printer_reply = tokio::net::UdpSocket::bind((PRINTER_ADDRESS, 0))
        .await
        .unwrap();
    let printer_task = tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        let mut answered = 0;
        while let Ok((n, from)) = printer.recv_from(&mut buf).await {
            if controller_core::driver::discovery::read_ssdp_search(&buf[..n]).is_some() {
                let answer = ssdp_answer(&SsdpAnswer {
                    st: "upnp:rootdevice".into(),
                    usn: "uuid:printer-1::upnp:rootdevice".into(),
                    server: "CUPS/2.4 UPnP/1.0".into(),
                    location: format!("http://{PRINTER_ADDRESS}:631/"),
                });
                printer_reply.send_to(&answer, from).await.unwrap();
                answered += 1;
            }
        }
        answered
    });

    let running = TestSettings::only(&["panel", "device_search"])
        .user("desk", Role::Viewer, "correct horse battery")
        .edit(|s| {
            let server: IpAddr = VETH_SERVER.parse().unwrap();
            s.panel.bind = server;
            s.device_search.bind = server;
            s.device_search.interface = VETH_SERVER.parse().unwrap();
            s.device_search.pjlink_to = Some(Ipv4Addr::new(10, 77, 0, 255).into());
            s.device_search.ssdp_to = Some(SSDP_GROUP.into());
            s.device_search.mdns_to = Some(MDNS_GROUP.into());
            s.device_search.ttl = 1;
            s.device_search.every_secs = 1;
        })
        .start_demo()
        .await;
    let c = running.controller.clone();
    let search = c.status().service("device_search").unwrap();
    assert!(
        search.endpoint.contains("10.77.0.255:4352")
            && search.endpoint.contains("239.255.255.250:1900")
            && search.endpoint.contains("224.0.0.251:5353"),
        "{}",
        search.endpoint
    );

    let projector_found = |f: &FoundDevice| is(f, VETH_CLIENT, FoundBy::Pjlink, &["pjlink-class2"]);
    let display_found = |f: &FoundDevice| is(f, SONY_ADDRESS, FoundBy::Ssdp, &["sony-bravia"]);
    let printer_found = |f: &FoundDevice| is(f, PRINTER_ADDRESS, FoundBy::Ssdp, &[]);
    let mic_found = |f: &FoundDevice| is(f, MIC_ADDRESS, FoundBy::Mdns, &["sennheiser-ssc-slmcr"]);
    eventually(
        Duration::from_secs(20),
        "all four devices are found",
        || {
            let found = c.status().found_devices();
            if found.iter().any(&projector_found)
                && found.iter().any(&display_found)
                && found.iter().any(&printer_found)
                && found.iter().any(&mic_found)
            {
                Ok(())
            } else {
                Err(format!("{found:#?}"))
            }
        },
    )
    .await;
    let found = c.status().found_devices();
    // Each device once, however many rounds and copies of a search it heard;
    // the silent projector and the controller itself are not among them.
    assert_eq!(found.len(), 4, "{found:#?}");
    // The receiver's DNS-SD records: its instance, and the host and port
    // of its SRV record (the simulator's SSC port).
    let mic_entry = found.iter().find(|&f| mic_found(f)).unwrap();
    assert_eq!(
        mic_entry.identity,
        "roomctl-sim-10-77-0-6 Sennheiser SpeechLine Multi-Channel Recei (_ssc._udp)"
    );
    assert_eq!(
        mic_entry.location,
        format!("roomctl-sim-10-77-0-6.local:{}", mic.addr.port())
    );
    let projector_entry = found.iter().find(|&f| projector_found(f)).unwrap();
    assert_eq!(
        projector_entry.identity,
        "PJLink class 2, MAC 02:00:0A:4D:00:02"
    );
    let display_entry = found.iter().find(|&f| display_found(f)).unwrap();
    assert!(
        display_entry
            .location
            .starts_with(&format!("http://{SONY_ADDRESS}:")),
        "{display_entry:?}"
    );
    assert!(found.iter().all(|f| f.address != SILENT_ADDRESS));
    assert!(c
        .log()
        .recent(50)
        .iter()
        .any(|l| l.contains("found PJLink class 2") && l.contains("driver pjlink-class2")));

    // The status page lists them, for a viewer.
    let addr = running.addrs.panel.unwrap();
    let (_, login) = post_form(
        addr,
        "/login",
        "user=desk&password=correct+horse+battery&next=%2Fstatus",
    )
    .await;
    let (_, page) = get_with_cookie(addr, "/status", &cookie_of(&login)).await;
    assert!(page.contains("Found on the LAN (4)"), "{page}");
    assert!(
        page.contains(&format!(
            "data-found=\"{MIC_ADDRESS}\" data-suggested=\"sennheiser-ssc-slmcr\""
        )),
        "{page}"
    );
    assert!(page.contains("mDNS"), "{page}");
    assert!(
        page.contains(&format!(
            "data-found=\"{VETH_CLIENT}\" data-suggested=\"pjlink-class2\""
        )),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "data-found=\"{SONY_ADDRESS}\" data-suggested=\"sony-bravia\""
        )),
        "{page}"
    );
    assert!(page.contains("none in the library"), "{page}");

    running.shutdown().await;
    for sim in [projector, display, silent, mic] {
        sim.shutdown().await;
    }
    printer_task.abort();
    assert!(printer_task.await.is_err(), "the printer task was aborted");
}

/// The development profile searches only on loopback, and only PJLink: no
/// SSDP or mDNS multicast is sent from a developer's machine by default.
#[test]
fn the_development_default_stays_on_loopback() {
    let s = TestSettings::only(&["device_search"]).build();
    assert_eq!(
        s.device_search.pjlink_to,
        Some(Ipv4Addr::new(127, 255, 255, 255).into())
    );
    assert_eq!(s.device_search.ssdp_to, None);
    assert_eq!(s.device_search.mdns_to, None);
    assert_eq!(s.device_search.bind, IpAddr::from(Ipv4Addr::LOCALHOST));
    let lan = roomctl::config::Settings::defaults(roomctl::config::Profile::Lan);
    assert_eq!(lan.device_search.ssdp_to, Some(SSDP_GROUP.into()));
    assert_eq!(lan.device_search.mdns_to, Some(MDNS_GROUP.into()));
    assert_eq!(
        lan.device_search.pjlink_to,
        Some(Ipv4Addr::BROADCAST.into())
    );
}
