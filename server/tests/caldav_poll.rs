//! A CalDAV collection polled as a calendar server would like it: a real
//! Radicale (started by the test on loopback) is asked for its change tag
//! at each poll, and read whole only when that changed.

use crate::support;

use roomctl::config::{CalendarSource, Profile, Settings};
use roomctl::services::calendar::{Client, Outcome};

const EVENT: &str = "BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//roomctl//tests//EN\r
BEGIN:VEVENT\r
UID:UIDX\r
DTSTAMP:20261001T000000Z\r
DTSTART:20261207T090000Z\r
DTEND:20261207T100000Z\r
SUMMARY:Review\r
END:VEVENT\r
END:VCALENDAR\r
";

#[tokio::test]
async fn an_unchanged_collection_is_not_read_again() {
    let dav = support::radicale::Radicale::start().await;
    dav.make_calendar("/room/board/").await;
    dav.put("/room/board/a.ics", &EVENT.replace("UIDX", "a"))
        .await;
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("caldav-password");
    std::fs::write(&password, format!("{}\n", dav.password)).unwrap();
    let mut s = Settings::defaults(Profile::Development).calendar;
    s.enabled = true;
    s.url = dav.url("/room/board/");
    s.source = CalendarSource::Caldav;
    s.username = dav.user.into();
    s.password_file = Some(password);
    s.cache_file = dir.path().join("calendar.json");
    let client = Client::new(&s).unwrap();

    let Outcome::New(first) = client.fetch(None).await.unwrap() else {
        panic!("the first poll reads the collection")
    };
    assert_eq!(first.resources.len(), 1);
    assert!(
        first.etag.is_some(),
        "the collection's tag is kept: {first:?}"
    );
    assert!(
        matches!(
            client.fetch(Some(&first)).await.unwrap(),
            Outcome::Unchanged
        ),
        "nothing changed: the collection is not read again"
    );

    // Another booking: the tag moves, the collection is read again.
    dav.put("/room/board/b.ics", &EVENT.replace("UIDX", "b"))
        .await;
    let Outcome::New(second) = client.fetch(Some(&first)).await.unwrap() else {
        panic!("a changed collection is read")
    };
    assert_eq!(second.resources.len(), 2, "{second:?}");
    assert_ne!(second.etag, first.etag);
    assert!(matches!(
        client.fetch(Some(&second)).await.unwrap(),
        Outcome::Unchanged
    ));
}
