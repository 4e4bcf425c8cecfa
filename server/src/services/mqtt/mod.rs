//! The MQTT bridge (`docs/mqtt.md`): the controller as a client of an
//! existing broker. No port of its own; one outgoing connection.
//!
//! The topic tree and its payloads are `controller_core::protocol::mqtt`;
//! [`connection`] drives rumqttc's event loop (reconnecting with backoff),
//! [`bridge`] turns the bus into retained state and events and commands
//! into presses, [`discovery`] writes the Home Assistant configs.
//!
//! MQTT 3.1.1 only: rumqttc's v5 client is a separate API with its own
//! types, and nothing here needs a v5 feature (every 3.1.1 broker and Home
//! Assistant speak 3.1.1).

mod bridge;
mod connection;
mod discovery;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use controller_core::protocol::mqtt::{Topics, OFFLINE};
use futures::future::BoxFuture;
use futures::FutureExt;
use rumqttc::{AsyncClient, LastWill, MqttOptions, QoS, TlsConfiguration, Transport};

use super::{Service, StartEnv, StartError, Started};
use crate::config::{MqttSettings, Settings};

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
            "MQTT bridge: outgoing connection to the broker at {} publishing state under {}/ ({commands}{ha}; no port)",
            m.url, m.prefix
        )
    }

    fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>> {
        // Subscribed before the task first runs: no step after start is missed.
        let (snapshot, bus) = env.controller.subscribe();
        async move {
            let settings = env.settings().mqtt.clone();
            let identity = env.controller.identity().clone();
            let topics = Topics::new(&settings.prefix, &identity.serial);
            let options = options(&settings, &identity.serial, &topics)
                .map_err(|e| StartError::Failed(format!("{e:#}")))?;
            // The one bounded queue between the bridge and the socket: the
            // bridge only ever `try_publish`es, so a slow broker never
            // slows the engine; what does not fit is counted and dropped.
            let (client, eventloop) = AsyncClient::new(options, settings.max_queue.max(1));
            let counters = Arc::new(bridge::Counters::default());
            let links = connection::drive(
                eventloop,
                counters.clone(),
                Duration::from_secs(settings.reconnect_max_secs.max(1)),
            );
            let bridge =
                bridge::Bridge::new(env.controller.clone(), client, topics, settings, counters);
            Ok(Started::running(
                bridge.run(env.shutdown, snapshot, bus, links).boxed(),
            ))
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

/// The client's options from the settings: broker, client id, keep-alive,
/// the last will (`offline` on the status topic, retained), credentials
/// and TLS.
fn options(s: &MqttSettings, serial: &str, topics: &Topics) -> anyhow::Result<MqttOptions> {
    let url = BrokerUrl::parse(&s.url)?;
    let client_id = if s.client_id.is_empty() {
        format!("roomctl-{serial}")
    } else {
        s.client_id.clone()
    };
    let mut o = MqttOptions::new(client_id, url.host, url.port);
    // At least 1 s: rumqttc panics below that, and 0 (no keep-alive) would
    // leave a dead controller "online" on the broker forever.
    o.set_keep_alive(Duration::from_secs(s.keepalive_secs.max(1)));
    o.set_clean_session(true);
    o.set_last_will(LastWill::new(
        topics.status(),
        OFFLINE,
        QoS::AtLeastOnce,
        true,
    ));
    if !s.username.is_empty() {
        let password = match &s.password_file {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("[mqtt] password_file {}", path.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
            None => String::new(),
        };
        o.set_credentials(s.username.clone(), password);
    }
    if url.tls {
        o.set_transport(Transport::tls_with_config(tls_config(s)?));
    }
    Ok(o)
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
