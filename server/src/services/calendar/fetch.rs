//! Getting the room's calendar over HTTP(S): a published iCalendar feed
//! (one conditional GET: If-None-Match / If-Modified-Since) or a CalDAV
//! collection (a PROPFIND for its change tag, RFC 6578's sync-token or
//! getctag, and only when that changed one REPORT calendar-query, RFC 4791
//! §7.8, answering every event's href, ETag and text), bounded in time (`timeout_secs`)
//! and size (`max_bytes`, counted while reading), verified by rustls. And
//! the write-back: one event's resource PUT with `If-Match` its ETag.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use reqwest::header::{
    HeaderMap, HeaderValue, ETAG, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};

use crate::config::{CalendarSettings, CalendarSource};

/// Where Debian keeps the system's CA bundle (`ca_file` unset).
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// One calendar document: the feed, or one CalDAV resource (an event and
/// its moved occurrences).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// Its address (the feed's URL, or the resource's path on the server).
    pub href: String,
    pub etag: Option<String>,
    pub ics: String,
}

/// What a fetch brought: the calendar's documents and what to send with
/// the next conditional request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fetched {
    /// The URL it came from (a cache of another URL is not used).
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub resources: Vec<Resource>,
    /// Whether the account may change the collection's events (CalDAV's
    /// `current-user-privilege-set`, RFC 3744 §5.4): `None` when unknown
    /// (a feed, or a server that does not say).
    #[serde(default)]
    pub writable: Option<bool>,
}

/// The answer to a conditional fetch.
pub enum Outcome {
    /// The server says nothing changed (304, or the same collection ETag).
    Unchanged,
    New(Fetched),
}

/// An HTTP client for one `[calendar]` (or `[holidays]`: its messages
/// name the section they come from).
#[derive(Clone)]
pub struct Client {
    section: &'static str,
    http: reqwest::Client,
    url: Url,
    source: CalendarSource,
    username: String,
    password: Option<String>,
    max_bytes: usize,
}

impl Client {
    pub fn new(s: &CalendarSettings) -> anyhow::Result<Client> {
        Client::in_section(s, "calendar")
    }

    /// A client whose messages name the settings section `section`.
    pub fn in_section(s: &CalendarSettings, section: &'static str) -> anyhow::Result<Client> {
        let url = url_of(&s.url, section)?;
        let password = match &s.password_file {
            Some(file) => Some(crate::storage::secret_file::read_password_file(
                file,
                "[calendar] password_file",
            )?),
            None => None,
        };
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(s.timeout_secs.max(1)))
            .connect_timeout(Duration::from_secs(s.timeout_secs.clamp(1, 10)))
            .redirect(reqwest::redirect::Policy::limited(5))
            .user_agent(concat!("roomctl/", env!("CARGO_PKG_VERSION")));
        if url.scheme() == "https" {
            builder = builder.use_preconfigured_tls(tls_config(s.ca_file.as_deref(), section)?);
        } else {
            // Plain HTTP (loopback only, see url_of) must not be redirected
            // off the machine.
            builder = builder.redirect(reqwest::redirect::Policy::none());
        }
        Ok(Client {
            section,
            http: builder
                .build()
                .with_context(|| format!("[{section}] HTTP client"))?,
            url,
            source: s.source,
            username: s.username.clone(),
            password,
            max_bytes: s
                .max_bytes
                .min(controller_core::calendar::MAX_CALENDAR_BYTES),
        })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        let r = self.http.request(method, url);
        if self.username.is_empty() {
            r
        } else {
            r.basic_auth(&self.username, self.password.as_deref())
        }
    }

    /// Fetches the calendar; `last` (the calendar in use) gives the
    /// conditional headers.
    pub async fn fetch(&self, last: Option<&Fetched>) -> anyhow::Result<Outcome> {
        let last = last.filter(|l| l.url == self.url.as_str());
        let headers = match (last, self.source) {
            (Some(l), CalendarSource::Ics) => conditional_headers(l),
            _ => HeaderMap::new(),
        };
        // A CalDAV collection says first whether it changed at all (a small
        // PROPFIND), so an unchanged one is not read whole every poll.
        let tag = match self.source {
            CalendarSource::Caldav => self.collection_tag().await?,
            CalendarSource::Ics => None,
        };
        if tag.is_some() && last.is_some_and(|l| l.etag == tag) {
            return Ok(Outcome::Unchanged);
        }
        let request = match self.source {
            CalendarSource::Ics => self.request(Method::GET, self.url.clone()),
            CalendarSource::Caldav => self
                .request(Method::from_bytes(b"REPORT")?, self.url.clone())
                .header("Depth", "1")
                .header("Content-Type", "application/xml; charset=utf-8")
                .body(CALENDAR_QUERY),
        };
        let response = request
            .headers(headers)
            .send()
            .await
            .map_err(|e| plain(e, self.section))?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Outcome::Unchanged);
        }
        if !status.is_success() {
            bail!("{} answered {status}", self.url);
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let (etag, last_modified) = match self.source {
            CalendarSource::Ics => (header(ETAG), header(LAST_MODIFIED)),
            // The collection's tag stands for the whole answer.
            CalendarSource::Caldav => (tag, None),
        };
        if etag.is_some() && last.is_some_and(|l| l.etag == etag) {
            return Ok(Outcome::Unchanged);
        }
        let body = self.read_body(response).await?;
        let (resources, writable) = match self.source {
            CalendarSource::Ics => (
                vec![Resource {
                    href: self.url.to_string(),
                    etag: etag.clone(),
                    ics: body,
                }],
                None,
            ),
            CalendarSource::Caldav => (multistatus(&body)?, self.writable().await),
        };
        Ok(Outcome::New(Fetched {
            url: self.url.to_string(),
            etag,
            last_modified,
            resources,
            writable,
        }))
    }

    /// The CalDAV collection's change tag (RFC 6578 `sync-token`, or
    /// `getctag` where only that is kept): one PROPFIND of depth 0. `None`
    /// when the server keeps neither (the collection is then read whole).
    async fn collection_tag(&self) -> anyhow::Result<Option<String>> {
        let response = self
            .request(Method::from_bytes(b"PROPFIND")?, self.url.clone())
            .header("Depth", "0")
            .header("Content-Type", "application/xml; charset=utf-8")
            .body(COLLECTION_TAG_QUERY)
            .send()
            .await
            .map_err(|e| plain(e, self.section))?;
        if !response.status().is_success() {
            return Ok(None);
        }
        let body = self.read_body(response).await?;
        Ok(collection_tag(&body))
    }

    /// Whether the account may write the collection's events, as the
    /// server says (PROPFIND `current-user-privilege-set`, Depth 0); `None`
    /// when it does not say or cannot be asked.
    pub async fn writable(&self) -> Option<bool> {
        let response = self
            .request(Method::from_bytes(b"PROPFIND").ok()?, self.url.clone())
            .header("Depth", "0")
            .header("Content-Type", "application/xml; charset=utf-8")
            .body(PRIVILEGES_QUERY)
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        privileges(&self.read_body(response).await.ok()?)
    }

    /// The body as text, refused past `max_bytes` (counted as it comes,
    /// so a huge answer is never held whole).
    async fn read_body(&self, mut response: reqwest::Response) -> anyhow::Result<String> {
        if let Some(len) = response.content_length() {
            if len > self.max_bytes as u64 {
                bail!(
                    "the calendar is {len} bytes, more than [{}] max_bytes = {}",
                    self.section,
                    self.max_bytes
                );
            }
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| plain(e, self.section))? {
            if body.len() + chunk.len() > self.max_bytes {
                bail!(
                    "the calendar is more than [{}] max_bytes = {} bytes",
                    self.section,
                    self.max_bytes
                );
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map_err(|_| anyhow!("the calendar is not UTF-8 text"))
    }

    /// Writes one resource back with `If-Match` its ETag (a change made
    /// meanwhile by someone else is refused by the server, not overwritten).
    /// Returns the new ETag, if the server gave one.
    pub async fn put(&self, resource: &Resource, ics: String) -> anyhow::Result<Option<String>> {
        let url = self
            .url
            .join(&resource.href)
            .with_context(|| format!("the event's address {:?}", resource.href))?;
        if url.origin() != self.url.origin() {
            bail!("the event's address {url} is not on the calendar's server");
        }
        let mut request = self
            .request(Method::PUT, url.clone())
            .header("Content-Type", "text/calendar; charset=utf-8")
            .body(ics);
        if let Some(etag) = &resource.etag {
            request = request.header(IF_MATCH, etag.as_str());
        }
        let response = request.send().await.map_err(|e| plain(e, self.section))?;
        let status = response.status();
        if status == StatusCode::PRECONDITION_FAILED {
            bail!("the event changed on the server meanwhile (412); it is read again at the next poll");
        }
        if !status.is_success() {
            bail!("PUT {url} answered {status}");
        }
        Ok(response
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string))
    }
}

/// reqwest's error with its causes (timeout, refused, certificate).
fn plain(e: reqwest::Error, section: &str) -> anyhow::Error {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    if e.is_timeout() {
        text.push_str(&format!(" (timed out: [{section}] timeout_secs)"));
    }
    anyhow!(text)
}

/// The settings' URL (see [`CalendarSettings::url`]).
pub fn url_of(text: &str, section: &str) -> anyhow::Result<Url> {
    crate::config::calendar_url(text, section)
}

/// rustls with the ring provider and the roots from `ca_file` or the
/// system bundle, as the MQTT bridge.
fn tls_config(ca_file: Option<&Path>, section: &str) -> anyhow::Result<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let path = ca_file.unwrap_or(Path::new(SYSTEM_CA_BUNDLE));
    let what = || format!("[{section}] ca_file {}", path.display());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).with_context(what)? {
        roots.add(cert.with_context(what)?).with_context(what)?;
    }
    if roots.is_empty() {
        bail!("{} holds no certificate", what());
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

/// Every VEVENT of the collection, with its href and ETag (RFC 4791 §7.8).
const CALENDAR_QUERY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data/></d:prop>
  <c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"/></c:comp-filter></c:filter>
</c:calendar-query>"#;

/// The collection's change tags (RFC 6578; CalendarServer's extension).
const COLLECTION_TAG_QUERY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/">
  <d:prop><d:sync-token/><cs:getctag/></d:prop>
</d:propfind>"#;

/// The change tag in a PROPFIND answer: the `sync-token`, else the
/// `getctag`, of a propstat with status 200.
pub fn collection_tag(xml: &str) -> Option<String> {
    const DAV: &str = "DAV:";
    const CS: &str = "http://calendarserver.org/ns/";
    let doc = roxmltree::Document::parse(xml).ok()?;
    let ok = doc
        .descendants()
        .filter(|n| n.has_tag_name((DAV, "propstat")))
        .filter(|p| {
            child(*p, DAV, "status")
                .and_then(|s| s.text())
                .is_some_and(|s| s.contains(" 200"))
        });
    let mut ctag = None;
    for propstat in ok {
        let text = |ns, name| {
            child(propstat, ns, name)
                .and_then(|n| n.text())
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
        };
        if let Some(token) = text(DAV, "sync-token") {
            return Some(token);
        }
        ctag = ctag.or_else(|| text(CS, "getctag"));
    }
    ctag
}

/// The account's privileges on the collection (RFC 3744 §5.4).
const PRIVILEGES_QUERY: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-privilege-set/></d:prop></d:propfind>"#;

/// Whether a PROPFIND answer's `current-user-privilege-set` lets the
/// account change events (`write`, `write-content` or `all`); `None` when
/// the answer has no such set.
pub fn privileges(xml: &str) -> Option<bool> {
    const DAV: &str = "DAV:";
    let doc = roxmltree::Document::parse(xml).ok()?;
    let set = doc
        .descendants()
        .find(|n| n.has_tag_name((DAV, "current-user-privilege-set")))?;
    // A server that does not know the property answers it in a 404 propstat.
    let found = set
        .ancestors()
        .find(|n| n.has_tag_name((DAV, "propstat")))
        .and_then(|p| child(p, DAV, "status"))
        .and_then(|s| s.text())
        .is_none_or(|s| s.contains(" 200"));
    if !found {
        return None;
    }
    Some(set.descendants().any(|n| {
        n.tag_name().namespace() == Some(DAV)
            && ["write", "write-content", "all"].contains(&n.tag_name().name())
            && n.parent_element()
                .is_some_and(|p| p.has_tag_name((DAV, "privilege")))
    }))
}

/// The first element `ns:name` under `n`.
fn child<'a, 'i>(
    n: roxmltree::Node<'a, 'i>,
    ns: &str,
    name: &str,
) -> Option<roxmltree::Node<'a, 'i>> {
    n.descendants().find(|c| c.has_tag_name((ns, name)))
}

/// A WebDAV multistatus answer read into resources (those with
/// calendar data and a 200 status).
pub fn multistatus(xml: &str) -> anyhow::Result<Vec<Resource>> {
    const DAV: &str = "DAV:";
    const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
    let doc = roxmltree::Document::parse(xml).context("the CalDAV answer is not XML")?;
    let root = doc.root_element();
    if !root.has_tag_name((DAV, "multistatus")) {
        bail!("the CalDAV answer is not a multistatus");
    }
    let mut out = Vec::new();
    for response in root
        .children()
        .filter(|n| n.has_tag_name((DAV, "response")))
    {
        let Some(href) = child(response, DAV, "href").and_then(|h| h.text()) else {
            continue;
        };
        for propstat in response
            .children()
            .filter(|n| n.has_tag_name((DAV, "propstat")))
        {
            let ok = child(propstat, DAV, "status")
                .and_then(|s| s.text())
                .is_some_and(|s| s.contains(" 200"));
            let data = child(propstat, CALDAV, "calendar-data").and_then(|d| d.text());
            if let (true, Some(ics)) = (ok, data) {
                out.push(Resource {
                    href: href.trim().to_string(),
                    etag: child(propstat, DAV, "getetag")
                        .and_then(|e| e.text())
                        .map(|e| e.trim().to_string()),
                    ics: ics.to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// The headers that let an unchanged ICS file answer 304.
fn conditional_headers(last: &Fetched) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let value = |v: &Option<String>| v.as_deref().and_then(|v| HeaderValue::from_str(v).ok());
    if let Some(v) = value(&last.etag) {
        headers.insert(IF_NONE_MATCH, v);
    }
    if let Some(v) = value(&last.last_modified) {
        headers.insert(IF_MODIFIED_SINCE, v);
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_https_or_local_http() {
        assert_eq!(
            url_of("webcal://example.org/a.ics", "calendar")
                .unwrap()
                .as_str(),
            "https://example.org/a.ics"
        );
        assert!(url_of("http://127.0.0.1:5232/room/", "calendar").is_ok());
        assert!(url_of("http://localhost/x.ics", "calendar").is_ok());
        let e = url_of("http://example.org/a.ics", "calendar")
            .unwrap_err()
            .to_string();
        assert!(e.contains("use https"), "{e}");
        assert!(url_of("ftp://example.org/a.ics", "calendar").is_err());
        assert!(url_of("not a url", "calendar").is_err());
    }

    #[test]
    fn multistatus_answers_are_read() {
        let xml = r#"<?xml version="1.0"?>
<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
 <response><href>/room/a.ics</href>
  <propstat><prop><getetag>"e1"</getetag><C:calendar-data>BEGIN:VCALENDAR&#13;
END:VCALENDAR</C:calendar-data></prop><status>HTTP/1.1 200 OK</status></propstat>
 </response>
 <response><href>/room/b.ics</href>
  <propstat><prop><getetag/></prop><status>HTTP/1.1 404 Not Found</status></propstat>
 </response>
</multistatus>"#;
        let r = multistatus(xml).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].href, "/room/a.ics");
        assert_eq!(r[0].etag.as_deref(), Some("\"e1\""));
        assert!(r[0].ics.starts_with("BEGIN:VCALENDAR\r\nEND"));
        assert!(multistatus("<x/>").is_err());
        assert!(multistatus("not xml").is_err());
    }

    #[test]
    fn collection_tags_are_read() {
        let answer = |props: &str, status: &str| {
            format!(
                r#"<?xml version="1.0"?>
<multistatus xmlns="DAV:" xmlns:CS="http://calendarserver.org/ns/">
 <response><href>/room/</href>
  <propstat><prop>{props}</prop><status>HTTP/1.1 {status}</status></propstat>
 </response>
</multistatus>"#
            )
        };
        let both = answer(
            r#"<sync-token>http://radicale.org/ns/sync/7f</sync-token><CS:getctag>"c1"</CS:getctag>"#,
            "200 OK",
        );
        assert_eq!(
            collection_tag(&both).as_deref(),
            Some("http://radicale.org/ns/sync/7f")
        );
        let ctag = answer(r#"<CS:getctag>"c1"</CS:getctag><sync-token/>"#, "200 OK");
        assert_eq!(collection_tag(&ctag).as_deref(), Some("\"c1\""));
        let missing = answer("<sync-token/><CS:getctag/>", "404 Not Found");
        assert_eq!(collection_tag(&missing), None);
        assert_eq!(collection_tag("not xml"), None);
    }

    #[test]
    fn privileges_say_whether_the_account_may_write() {
        let answer = |privileges: &str, status: &str| {
            format!(
                r#"<?xml version="1.0"?>
<multistatus xmlns="DAV:"><response><href>/room/board/</href>
 <propstat><prop><current-user-privilege-set>{privileges}</current-user-privilege-set></prop>
 <status>HTTP/1.1 {status}</status></propstat></response></multistatus>"#
            )
        };
        let read = "<privilege><read/></privilege>";
        let write = "<privilege><read/></privilege><privilege><write-content/></privilege>";
        let all = "<privilege><all/></privilege>";
        assert_eq!(privileges(&answer(read, "200 OK")), Some(false));
        assert_eq!(privileges(&answer(write, "200 OK")), Some(true));
        assert_eq!(privileges(&answer(all, "200 OK")), Some(true));
        // The server does not know the property: nobody can say.
        assert_eq!(privileges(&answer("", "404 Not Found")), None);
        assert_eq!(privileges("<multistatus xmlns=\"DAV:\"/>"), None);
        assert_eq!(privileges("not xml"), None);
    }
}
