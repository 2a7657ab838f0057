//! Webhook intake: verify, parse, decide the answer. No work happens here;
//! a verified delivery becomes an [`Event`] for the queue.

use std::borrow::Cow;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::event::{self, Event};

pub(crate) mod committer;
pub mod journal;
pub mod recorder;

/// GitHub's largest webhook payload.
pub const MAX_BODY: usize = 25 * 1024 * 1024;

/// What the request's answer is when it is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// 401: no `X-Hub-Signature-256`, or none of the secrets signed it.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 400: a verified body that cannot be read.
    #[error("{0}")]
    BadRequest(String),
    /// 413: larger than GitHub ever sends.
    #[error("the body is larger than GitHub's 25 MB limit")]
    TooLarge,
}

impl Rejection {
    pub fn status(&self) -> u16 {
        match self {
            Rejection::Unauthorized(_) => 401,
            Rejection::BadRequest(_) => 400,
            Rejection::TooLarge => 413,
        }
    }
}

/// A verified, parsed delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// `X-GitHub-Delivery`, the key deliveries are deduplicated by.
    pub id: String,
    pub event_name: String,
    pub event: Event,
    pub installation: Option<u64>,
    /// The event as the queue stores it.
    pub stored: Vec<u8>,
}

impl Delivery {
    /// 202 for work to queue, 200 for an event dslp-bot ignores.
    pub fn status(&self) -> u16 {
        if matches!(self.event, Event::Ignored { .. }) {
            200
        } else {
            202
        }
    }
}

/// Checks `X-Hub-Signature-256` (HMAC-SHA256 of the raw body) against each
/// secret in turn, so a secret can be rotated; the comparison is constant-time.
pub fn verify_signature(
    secrets: &[String],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), Rejection> {
    let header = header.ok_or(Rejection::Unauthorized("missing X-Hub-Signature-256"))?;
    let hex_signature = header
        .strip_prefix("sha256=")
        .ok_or(Rejection::Unauthorized(
            "X-Hub-Signature-256 is not a sha256= signature",
        ))?;
    let signature = hex::decode(hex_signature.trim())
        .map_err(|_| Rejection::Unauthorized("X-Hub-Signature-256 is not hex"))?;
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            continue;
        };
        mac.update(body);
        if mac.verify_slice(&signature).is_ok() {
            return Ok(());
        }
    }
    Err(Rejection::Unauthorized(
        "the signature matches no webhook secret",
    ))
}

/// The JSON payload of a body, which GitHub sends as JSON or as a form
/// with a `payload` field, by the App's content-type setting.
/// A JSON body is used as it came, without a copy; so is one labelled a
/// form that is JSON all the same (`curl --data` labels every body so).
pub fn json_payload<'a>(
    content_type: Option<&str>,
    body: &'a [u8],
) -> Result<Cow<'a, [u8]>, Rejection> {
    let form = content_type.is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if !form || body.trim_ascii_start().starts_with(b"{") {
        return Ok(Cow::Borrowed(body));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| Rejection::BadRequest("the form body is not UTF-8".into()))?;
    text.split('&')
        .find_map(|pair| pair.strip_prefix("payload="))
        .map(|encoded| url_decode(encoded).map(Cow::Owned))
        .ok_or_else(|| {
            Rejection::BadRequest(
                "the body is sent as a form (Content-Type: application/x-www-form-urlencoded) but has no `payload` field; GitHub sends the payload there, or as JSON with Content-Type: application/json".into(),
            )
        })?
}

fn url_decode(text: &str) -> Result<Vec<u8>, Rejection> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = text.get(i + 1..i + 3).ok_or_else(|| {
                    Rejection::BadRequest("a broken %-escape in the form body".into())
                })?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| {
                    Rejection::BadRequest("a broken %-escape in the form body".into())
                })?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Ok(out)
}

/// The longest `X-GitHub-Delivery` taken. GitHub's are GUIDs (36
/// characters); the id is a key of the store, so anything far from that
/// shape is refused rather than kept.
const DELIVERY_ID_LIMIT: usize = 64;

/// `X-GitHub-Delivery`, when it is one: 1 to 64 letters, digits, `-`, `_`
/// or `.`.
fn delivery_id(header: Option<&str>) -> Result<&str, Rejection> {
    let id = header.ok_or_else(|| Rejection::BadRequest("missing X-GitHub-Delivery".into()))?;
    let shaped = !id.is_empty()
        && id.len() <= DELIVERY_ID_LIMIT
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !shaped {
        return Err(Rejection::BadRequest(format!(
            "X-GitHub-Delivery must be 1 to {DELIVERY_ID_LIMIT} letters, digits or dashes (GitHub sends a GUID); this one is {} characters",
            id.chars().count()
        )));
    }
    Ok(id)
}

/// The whole intake: size, signature, then parsing. The signature is
/// checked before anything of the body is believed.
pub fn accept(
    secrets: &[String],
    event_name: Option<&str>,
    delivery: Option<&str>,
    signature: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Delivery, Rejection> {
    if body.len() > MAX_BODY {
        return Err(Rejection::TooLarge);
    }
    verify_signature(secrets, body, signature)?;
    let event_name =
        event_name.ok_or_else(|| Rejection::BadRequest("missing X-GitHub-Event".into()))?;
    let id = delivery_id(delivery)?;
    let payload = json_payload(content_type, body)?;
    let parsed = event::parse_delivery(event_name, &payload)
        .map_err(|e| Rejection::BadRequest(e.to_string()))?;
    if parsed.installation.is_none() && !matches!(parsed.event, Event::Ignored { .. }) {
        return Err(Rejection::BadRequest(
            "the payload names no `installation`: `dslp serve` handles a GitHub App's deliveries (for a repository webhook, use the Action)".into(),
        ));
    }
    Ok(Delivery {
        id: id.to_string(),
        event_name: event_name.to_string(),
        event: parsed.event,
        installation: parsed.installation,
        stored: parsed.stored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's documented test vector for webhook signatures.
    #[test]
    fn githubs_test_vector_verifies() {
        let secrets = vec!["It's a Secret to Everybody".to_string()];
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(
            verify_signature(&secrets, b"Hello, World!", Some(header)),
            Ok(())
        );
        assert!(verify_signature(&secrets, b"Hello, World?", Some(header)).is_err());
    }

    #[test]
    fn rotated_secrets_missing_and_malformed_signatures() {
        let body = b"{}";
        let mut mac = Hmac::<Sha256>::new_from_slice(b"new").unwrap();
        mac.update(body);
        let header = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        let rotated = vec!["old".to_string(), "new".to_string()];
        assert_eq!(verify_signature(&rotated, body, Some(&header)), Ok(()));
        assert!(verify_signature(&["old".to_string()], body, Some(&header)).is_err());
        assert_eq!(
            verify_signature(&rotated, body, None).unwrap_err().status(),
            401
        );
        assert!(verify_signature(&rotated, body, Some("sha1=abcd")).is_err());
        assert!(verify_signature(&rotated, body, Some("sha256=zz")).is_err());
        assert!(
            verify_signature(&[String::new()], body, Some(&header)).is_err(),
            "an empty secret must never verify"
        );
    }

    fn signed(secret: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn a_signed_example_payload_becomes_an_event_in_either_body_shape() {
        let json = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/github/webhooks/pull_request.synchronize.json"
        ))
        .unwrap();
        let secrets = vec!["s3cret".to_string()];
        let delivery = accept(
            &secrets,
            Some("pull_request"),
            Some("d-1"),
            Some(&signed("s3cret", &json)),
            Some("application/json"),
            &json,
        )
        .unwrap();
        assert!(matches!(delivery.event, Event::PullRequest(_)));
        assert_eq!(delivery.status(), 202);
        assert_eq!(delivery.installation, Some(1));
        // The queue keeps the event, which reads back the same.
        assert!(delivery.stored.len() * 5 < json.len());
        assert_eq!(
            Event::from_stored("pull_request", &delivery.stored).unwrap(),
            delivery.event
        );

        let form = format!(
            "payload={}",
            json.iter().map(|b| format!("%{b:02X}")).collect::<String>()
        );
        let via_form = accept(
            &secrets,
            Some("pull_request"),
            Some("d-2"),
            Some(&signed("s3cret", form.as_bytes())),
            Some("application/x-www-form-urlencoded"),
            form.as_bytes(),
        )
        .unwrap();
        assert_eq!(via_form.event, delivery.event);

        // JSON labelled as a form, as `curl --data` sends it.
        let mislabelled = accept(
            &secrets,
            Some("pull_request"),
            Some("d-3"),
            Some(&signed("s3cret", &json)),
            Some("application/x-www-form-urlencoded"),
            &json,
        )
        .unwrap();
        assert_eq!(mislabelled.event, delivery.event);
        let no_payload = b"action=opened";
        let rejection = accept(
            &secrets,
            Some("pull_request"),
            Some("d-4"),
            Some(&signed("s3cret", no_payload)),
            Some("application/x-www-form-urlencoded"),
            no_payload,
        )
        .unwrap_err();
        assert_eq!(rejection.status(), 400);
        assert!(
            rejection.to_string().contains("no `payload` field"),
            "{rejection}"
        );
    }

    #[test]
    fn work_without_an_installation_is_refused_and_ignored_events_are_not() {
        let json = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/github/webhooks/pull_request.opened.json"
        ))
        .unwrap();
        let secrets = vec!["s".to_string()];
        let header = signed("s", &json);
        let refused = accept(
            &secrets,
            Some("pull_request"),
            Some("d"),
            Some(&header),
            None,
            &json,
        );
        assert!(refused.unwrap_err().to_string().contains("installation"));
        let ping = accept(
            &secrets,
            Some("ping"),
            Some("d"),
            Some(&header),
            None,
            &json,
        )
        .unwrap();
        assert_eq!(ping.status(), 200);
    }

    #[test]
    fn a_delivery_id_is_a_guid_or_something_shaped_like_one() {
        assert_eq!(
            delivery_id(Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")),
            Ok("72d3162e-cc78-11e3-81ab-4c9367dc0958")
        );
        for bad in ["", " ", "a b", "x".repeat(100_000).as_str(), "id\n", "../x"] {
            let rejection = delivery_id(Some(bad)).unwrap_err();
            assert_eq!(rejection.status(), 400, "{bad:?}");
        }
        assert!(
            delivery_id(None)
                .unwrap_err()
                .to_string()
                .contains("missing")
        );
    }

    #[test]
    fn answers_for_bad_requests() {
        let secrets = vec!["s".to_string()];
        let truncated = br#"{"action": "opened", "pull_request": "#;
        let rejection = accept(
            &secrets,
            Some("pull_request"),
            Some("d"),
            Some(&signed("s", truncated)),
            None,
            truncated,
        )
        .unwrap_err();
        assert_eq!(rejection.status(), 400);
        // An unsigned body is refused before it is parsed.
        assert_eq!(
            accept(
                &secrets,
                Some("pull_request"),
                Some("d"),
                None,
                None,
                truncated
            )
            .unwrap_err()
            .status(),
            401
        );
        let ping = br#"{"zen": "Keep it logically awesome."}"#;
        let ignored = accept(
            &secrets,
            Some("ping"),
            Some("d"),
            Some(&signed("s", ping)),
            None,
            ping,
        )
        .unwrap();
        assert_eq!(ignored.status(), 200);
        let huge = vec![b' '; MAX_BODY + 1];
        assert_eq!(
            accept(&secrets, Some("push"), Some("d"), None, None, &huge)
                .unwrap_err()
                .status(),
            413
        );
        assert_eq!(
            accept(
                &secrets,
                Some("push"),
                None,
                Some(&signed("s", ping)),
                None,
                ping
            )
            .unwrap_err()
            .status(),
            400
        );
    }
}
