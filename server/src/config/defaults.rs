//! The settings each profile starts from: one function per section, and
//! the whole set with every service bound to one address.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use super::sections::*;
use super::{DeviceSearchSettings, NetworkSettings, Profile, Settings};
use crate::security::access::AllowList;

pub(super) fn defaults(profile: Profile) -> Settings {
    defaults_bound(profile, None)
}

/// The defaults of `profile` with every service bound to `bind` (the
/// settings file's `[network] bind`) instead of the profile's address:
/// each section's `bind`, the station's page, and the extension bus's
/// interface when `bind` names one address (IPv4).
pub(super) fn defaults_bound(profile: Profile, bind: Option<IpAddr>) -> Settings {
    let mut s = profile_defaults(profile);
    let Some(bind) = bind else {
        return s;
    };
    s.network.bind = bind;
    for service_bind in [
        &mut s.panel.bind,
        &mut s.apprimo.bind,
        &mut s.https.bind,
        &mut s.lookup.bind,
        &mut s.live.bind,
        &mut s.central.bind,
        &mut s.telnet.bind,
        &mut s.ftp.bind,
        &mut s.station.bind,
        &mut s.device_search.bind,
    ] {
        *service_bind = bind;
    }
    if let IpAddr::V4(one) = bind {
        if !one.is_unspecified() {
            s.extension.interface = one;
            s.device_search.interface = one;
        }
    }
    s
}

/// The addresses a profile's services use.
struct Net {
    lan: bool,
    /// Where services listen.
    bind: IpAddr,
    /// Where broadcasts go.
    broadcast: IpAddr,
    /// The interface of the multicast buses.
    interface: Ipv4Addr,
}

impl Net {
    fn of(profile: Profile) -> Net {
        let lan = profile == Profile::Lan;
        if lan {
            Net {
                lan,
                bind: Ipv4Addr::UNSPECIFIED.into(),
                broadcast: Ipv4Addr::BROADCAST.into(),
                interface: Ipv4Addr::UNSPECIFIED,
            }
        } else {
            Net {
                lan,
                bind: Ipv4Addr::LOCALHOST.into(),
                broadcast: Ipv4Addr::new(127, 255, 255, 255).into(),
                interface: Ipv4Addr::LOCALHOST,
            }
        }
    }
}

fn profile_defaults(profile: Profile) -> Settings {
    let net = Net::of(profile);
    let bind = net.bind;
    Settings {
        format: crate::storage::formats::SETTINGS_VERSION,
        network: NetworkSettings {
            profile,
            bind,
            broadcast: net.broadcast,
        },
        identity: Identity {
            name: "roomctl".into(),
            model: "roomctl".into(),
            serial: String::new(),
        },
        project: project(),
        panel: panel(&net),
        apprimo: ApprimoSettings {
            enabled: true,
            bind,
            port: if net.lan { 8080 } else { 3080 },
            default_panel: String::new(),
        },
        https: super::tls::https_defaults(profile, bind),
        tls: super::tls::tls_defaults(),
        lookup: lookup(&net),
        live: LiveSettings {
            enabled: true,
            bind,
            port: 8001,
            destination: net.broadcast,
            full_status_secs: 0,
        },
        central: central(&net),
        station: super::station::defaults(profile),
        extension: extension(&net),
        telnet: telnet(&net),
        ftp: ftp(&net),
        logic: LogicSettings { enabled: true },
        device_search: device_search(&net),
        mqtt: mqtt(),
        audit: audit(),
        calendar: super::calendar::calendar_defaults(),
        holidays: super::HolidaySettings::default(),
        users: Vec::new(),
    }
}

fn project() -> ProjectSettings {
    ProjectSettings {
        dir: PathBuf::from("var/project"),
        auto_apply: false,
        history: 50,
        drivers_dir: PathBuf::from("site-drivers"),
    }
}

fn panel(net: &Net) -> PanelSettings {
    PanelSettings {
        enabled: true,
        bind: net.bind,
        port: if net.lan { 80 } else { 3000 },
        allow: AllowList::default(),
        max_connections: 2000,
        max_http_connections: 256,
        header_timeout_secs: 10,
        keepalive_secs: 5,
        max_message_bytes: 1024,
        require_login: false,
        max_body_bytes: 2 * 1024 * 1024,
        request_timeout_secs: 30,
        preview_idle_secs: 600,
        allowed_origins: Vec::new(),
    }
}

fn lookup(net: &Net) -> LookupSettings {
    LookupSettings {
        enabled: true,
        bind: net.bind,
        port: 8000,
        allow: AllowList::default(),
        reply: ReplyMode::Broadcast,
        max_replies_per_sec: 20,
    }
}

fn central(net: &Net) -> CentralSettings {
    CentralSettings {
        enabled: true,
        bind: net.bind,
        port: 5009,
        allow: AllowList::default(),
        max_connections: 200,
        idle_timeout_secs: 60,
        login_timeout_secs: 15,
        max_message_bytes: 4096,
        max_queue: 1024,
        require_login: true,
    }
}

fn extension(net: &Net) -> ExtensionSettings {
    ExtensionSettings {
        enabled: true,
        group: Ipv4Addr::new(224, 10, 10, 25),
        port: 7979,
        interface: net.interface,
        keepalive_secs: 3,
        offline_after_secs: 10,
        ttl: if net.lan { 1 } else { 0 },
        max_devices: 256,
        allow: AllowList::default(),
    }
}

fn telnet(net: &Net) -> TelnetSettings {
    TelnetSettings {
        enabled: true,
        bind: net.bind,
        port: if net.lan { 23 } else { 2323 },
        allow: AllowList::default(),
        max_connections: 8,
        idle_timeout_secs: 600,
        login_timeout_secs: 15,
        max_message_bytes: 1024,
        settings_file: None,
    }
}

fn ftp(net: &Net) -> FtpSettings {
    FtpSettings {
        enabled: true,
        bind: net.bind,
        port: if net.lan { 21 } else { 2121 },
        allow: AllowList::default(),
        max_connections: 8,
        idle_timeout_secs: 300,
        login_timeout_secs: 15,
        passive_ports: (50000, 50100),
        data_timeout_secs: 10,
        active_mode: true,
        max_upload_bytes: 1024 * 1024,
        require_tls: false,
    }
}

fn device_search(net: &Net) -> DeviceSearchSettings {
    DeviceSearchSettings::profile_default(net.lan, net.bind, net.broadcast)
}

fn mqtt() -> MqttSettings {
    MqttSettings {
        enabled: false,
        url: "mqtt://127.0.0.1:1883".into(),
        protocol: MqttProtocol::V311,
        username: String::new(),
        password_file: None,
        ca_file: None,
        client_id: String::new(),
        prefix: "roomctl/{serial}".into(),
        keepalive_secs: 30,
        reconnect_max_secs: 30,
        max_queue: 1024,
        commands: false,
        ha_discovery: true,
        discovery_prefix: "homeassistant".into(),
    }
}

fn audit() -> AuditSettings {
    AuditSettings {
        enabled: true,
        file: PathBuf::from("var/audit.log"),
        max_bytes: 1024 * 1024,
        keep: 5,
        syslog: String::new(),
        presses: vec!["central".into(), "mqtt".into(), "telnet".into()],
    }
}
