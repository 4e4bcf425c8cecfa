//! The MQTT bridge (`docs/mqtt.md`): the controller as a client of an
//! existing broker. No port of its own; one outgoing connection.
//!
//! The topic tree and its payloads are `controller_core::protocol::mqtt`;
//! [`connection`] drives rumqttc's event loop (reconnecting with backoff),
//! [`bridge`] turns the bus into retained state and events and commands
//! into presses, [`discovery`] writes the Home Assistant configs.
//!
//! MQTT 3.1.1 by default, MQTT 5 with `protocol = "5"`: rumqttc's v5
//! client is a separate API with its own types, so [`connection`] wraps
//! both behind one client and one event loop. The topic tree, payloads and
//! behaviour are the same on both; no v5-only feature is used.

mod bridge;
pub(crate) mod connection;
mod counters;
mod discovery;
mod refusals;

pub(crate) use counters::Counters;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use controller_core::protocol::mqtt::{Topics, OFFLINE};
use futures::future::BoxFuture;
use futures::FutureExt;
use rumqttc::{v5, AsyncClient, LastWill, MqttOptions, QoS, TlsConfiguration, Transport};

use super::{Service, StartEnv, StartError, Started};
use crate::config::{MqttProtocol, MqttSettings, Settings};
use connection::{Client, EventLoop};

pub const NAME: &str = "mqtt";

/// Where the system's CA bundle is on Debian, for `mqtts` without `ca_file`.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

pub struct MqttService;

impl Service for MqttService {
    fn name(&self) -> &'static str {
        NAME
    }

    fn enabled(&self, s: &Settings) -> bool {
        s.mqtt.enabled
    }

    fn purpose(&self, s: &Settings) -> String {
        let m = &s.mqtt;
        let commands = if m.commands {
            "acts on press/release/select commands"
        } else {
            "commands off"
        };
        let ha = if m.ha_discovery {
            ", Home Assistant discovery"
        } else {
            ""
        };
        format!(
            "MQTT {} bridge: outgoing connection to the broker at {} publishing state under {}/ ({commands}{ha}; no port)",
            String::from(m.protocol),
            m.url,
            m.prefix
        )
    }

    fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>> {
        // Subscribed before the task first runs: no step after start is missed.
        let (snapshot, bus) = env.controller.subscribe();
        async move {
            let settings = env.settings().mqtt.clone();
            let identity = env.controller.identity().clone();
            let topics = Topics::new(&settings.prefix, &identity.serial);
            // The one bounded queue between the bridge and the socket: the
            // bridge only ever `try_publish`es, so a slow broker never
            // slows the engine; what does not fit is counted and dropped.
            let client_id = if settings.client_id.is_empty() {
                format!("roomctl-{}", identity.serial)
            } else {
                settings.client_id.clone()
            };
            let (client, eventloop) = client(
                &settings,
                client_id,
                Some(topics.status()),
                BRIDGE_MAX_INCOMING,
            )
            .map_err(|e| StartError::Failed(format!("{e:#}")))?;
            let counters = Arc::new(Counters::default());
            let links = connection::drive(
                eventloop,
                counters.clone(),
                Duration::from_secs(settings.reconnect_max_secs.max(1)),
                connection::Incoming::DropWhenFull,
            );
            let cap = settings.max_queue.max(1);
            let bridge =
                bridge::Bridge::new(env.controller.clone(), client, topics, settings, counters);
            let gauges = env.controller.metrics().mqtt.clone();
            let run = bridge.run(env.shutdown, snapshot, bus, links);
            Ok(Started::running(gauges.while_running(cap, run).boxed()))
        }
        .boxed()
    }
}

/// A broker URL: `mqtt://host[:1883]` or `mqtts://host[:8883]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl BrokerUrl {
    pub fn parse(url: &str) -> anyhow::Result<BrokerUrl> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtts://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("mqtt://") {
            (false, rest)
        } else {
            bail!("[mqtt] url {url:?} must start with mqtt:// or mqtts://");
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            // An IPv6 address in brackets keeps its colons.
            Some((host, port)) if !port.contains(']') => {
                let port = port
                    .parse()
                    .with_context(|| format!("[mqtt] url {url:?}: bad port {port:?}"))?;
                (host, port)
            }
            _ => (rest, if tls { 8883 } else { 1883 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains(['/', '@', '?', '#']) {
            bail!("[mqtt] url {url:?}: expected mqtt://host:port (no path, no user in the URL)");
        }
        Ok(BrokerUrl {
            tls,
            host: host.to_string(),
            port,
        })
    }
}

/// The largest message the bridge takes from the broker: commands are at
/// most 1 KiB, its own discovery configs a few. MQTT 5 tells the broker,
/// which then drops larger ones; on 3.1.1 a larger one ends the connection
/// (and the bridge reconnects).
const BRIDGE_MAX_INCOMING: usize = 64 << 10;

/// The largest message sent on 3.1.1 (on 5 the broker's CONNACK says):
/// above the largest one the bridge makes, a layout of at most 1 MB.
const MAX_OUTGOING: usize = 4 << 20;

/// A client of the configured protocol, from the settings: broker,
/// keep-alive, a clean session, credentials and TLS; with `will`, the last
/// will `offline` (retained) on that topic. Its queue holds `max_queue`
/// requests; messages over `max_incoming` bytes are refused. The bridge
/// and the station (`transport = "mqtt"`) both connect with it.
pub(crate) fn client(
    s: &MqttSettings,
    client_id: String,
    will: Option<String>,
    max_incoming: usize,
) -> anyhow::Result<(Client, EventLoop)> {
    let url = BrokerUrl::parse(&s.url)?;
    // At least 1 s: rumqttc panics below that, and 0 (no keep-alive) would
    // leave a dead controller "online" on the broker forever.
    let keep_alive = Duration::from_secs(s.keepalive_secs.max(1));
    let credentials = if s.username.is_empty() {
        None
    } else {
        let password = match &s.password_file {
            Some(path) => {
                crate::storage::secret_file::read_password_file(path, "[mqtt] password_file")?
            }
            None => String::new(),
        };
        Some((s.username.clone(), password))
    };
    let transport = if url.tls {
        Some(Transport::tls_with_config(tls_config(s)?))
    } else {
        None
    };
    let cap = s.max_queue.max(1);
    Ok(match s.protocol {
        MqttProtocol::V311 => {
            let mut o = MqttOptions::new(client_id, url.host, url.port);
            o.set_keep_alive(keep_alive);
            o.set_clean_session(true);
            o.set_max_packet_size(max_incoming, MAX_OUTGOING);
            if let Some(topic) = will {
                o.set_last_will(LastWill::new(topic, OFFLINE, QoS::AtLeastOnce, true));
            }
            if let Some((user, password)) = credentials {
                o.set_credentials(user, password);
            }
            if let Some(t) = transport {
                o.set_transport(t);
            }
            let (c, e) = AsyncClient::new(o, cap);
            (Client::V311(c), EventLoop::V311(Box::new(e)))
        }
        MqttProtocol::V5 => {
            let mut o = v5::MqttOptions::new(client_id, url.host, url.port);
            // Its client panics under 5 s (the settings check refuses it).
            o.set_keep_alive(keep_alive.max(Duration::from_secs(5)));
            o.set_clean_start(true);
            // Told to the broker in CONNECT (it then drops larger ones);
            // what the client may send is what the broker's CONNACK allows.
            o.set_max_packet_size(Some(u32::try_from(max_incoming).unwrap_or(u32::MAX)));
            if let Some(topic) = will {
                o.set_last_will(v5::mqttbytes::v5::LastWill::new(
                    topic,
                    OFFLINE,
                    v5::mqttbytes::QoS::AtLeastOnce,
                    true,
                    None,
                ));
            }
            if let Some((user, password)) = credentials {
                o.set_credentials(user, password);
            }
            if let Some(t) = transport {
                o.set_transport(t);
            }
            let (c, e) = v5::AsyncClient::new(o, cap);
            (Client::V5(c), EventLoop::V5(Box::new(e)))
        }
    })
}

/// rustls with the ring provider (the one already in the build) and the
/// roots from `ca_file` or the system bundle.
fn tls_config(s: &MqttSettings) -> anyhow::Result<TlsConfiguration> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    let path = s.ca_file.clone().unwrap_or_else(|| SYSTEM_CA_BUNDLE.into());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&path)
        .with_context(|| format!("[mqtt] ca_file {}", path.display()))?
    {
        let cert = cert.with_context(|| format!("[mqtt] ca_file {}", path.display()))?;
        roots
            .add(cert)
            .with_context(|| format!("[mqtt] ca_file {}", path.display()))?;
    }
    if roots.is_empty() {
        bail!("[mqtt] ca_file {} holds no certificate", path.display());
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(TlsConfiguration::Rustls(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls() {
        let u = BrokerUrl::parse("mqtt://127.0.0.1:1884").unwrap();
        assert_eq!((u.tls, u.host.as_str(), u.port), (false, "127.0.0.1", 1884));
        let u = BrokerUrl::parse("mqtts://broker.example").unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port),
            (true, "broker.example", 8883)
        );
        let u = BrokerUrl::parse("mqtt://[::1]:1883/").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 1883));
        for bad in [
            "tcp://h:1",
            "mqtt://",
            "mqtt://h:x",
            "mqtt://u@h:1",
            "mqtt://h/x",
        ] {
            assert!(BrokerUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
