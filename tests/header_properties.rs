//! Whatever headers a client sends, none that carry its identity, a signature or a connection
//! detail reaches the upstream, and a value with a line break is refused, never forwarded.
//! Through the whole proxy, whatever bytes a value holds reach a loopback upstream unchanged, and
//! every `x-amz-*` header that arrives is signed over its bytes read as Latin-1, as AWS reads
//! them (checked with aws-sigv4, not our signer).

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_types::date_time::{DateTime, Format};
use proptest::prelude::*;
use proxy_sigv4::headers::forwarded_request_headers;
use proxy_sigv4::proxy::{IncomingBody, IncomingRequest, Proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

const FORBIDDEN: [&str; 16] = [
    "authorization",
    "cookie",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "x-forwarded-for",
];

const ALLOWED: [&str; 4] = ["accept", "content-type", "range", "x-amz-target"];

/// A header name in random case, drawn from forbidden, allowed and arbitrary names.
fn name() -> impl Strategy<Value = String> {
    let known = prop::sample::select(FORBIDDEN.iter().chain(ALLOWED.iter()).copied().collect::<Vec<_>>());
    (prop_oneof![known.prop_map(String::from), "x-[a-z]{1,8}"], any::<u64>()).prop_map(|(name, bits)| {
        name.chars()
            .enumerate()
            .map(|(i, c)| if bits >> (i % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn no_forbidden_header_survives(pairs in prop::collection::vec((name(), "[ -~]{0,12}"), 0..16)) {
        let raw: Vec<String> = pairs.iter().flat_map(|(n, v)| [n.clone(), v.clone()]).collect();
        let connection_named: Vec<String> = pairs
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
            .flat_map(|(_, v)| v.split(',').map(|t| t.trim().to_ascii_lowercase()).collect::<Vec<_>>())
            .collect();
        let headers = forwarded_request_headers(&raw, &[]).unwrap();
        for name in headers.keys() {
            prop_assert!(!FORBIDDEN.contains(&name.as_str()), "{} was forwarded", name);
            prop_assert!(!connection_named.iter().any(|t| t == name.as_str()), "{} is named in Connection", name);
            prop_assert!(ALLOWED.contains(&name.as_str()) || !name.as_str().starts_with("x-") || name == "x-amz-target");
        }
    }

    #[test]
    fn line_breaks_in_values_are_refused(name in prop::sample::select(ALLOWED.to_vec()), before in "[ -~]{0,6}", after in "[ -~]{0,6}", brk in prop_oneof![Just("\r"), Just("\n"), Just("\r\n"), Just("\0")]) {
        let raw = vec![name.to_string(), format!("{before}{brk}{after}")];
        prop_assert!(forwarded_request_headers(&raw, &[]).is_err());
    }
}

const ACCESS_KEY_ID: &str = "AKIDHEADERPROPERTIES";
const SECRET_ACCESS_KEY: &str = "header-properties-secret";

/// Headers the route forwards, each drawn in random case: signed ones (`x-amz-*`,
/// `content-type`) and unsigned ones (`accept`, the route's `x-team`).
const FORWARDED: [&str; 6] =
    ["x-amz-meta-a", "x-amz-meta-b", "x-amz-target", "content-type", "accept", "x-team"];

/// A value's bytes: arbitrary (mostly not UTF-8, 0x80-0xFF included) or UTF-8 text. No spaces
/// or tabs, which Node's parser would trim from the ends before the proxy saw them.
fn value_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![0x21u8..=0x7e, 0x80u8..=0xff];
    prop_oneof![prop::collection::vec(byte, 0..12), "[^\\s\\p{C}]{0,8}".prop_map(String::into_bytes),]
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    proxy: Proxy,
    /// The head (request line and headers) of each request the upstream received.
    heads: std::sync::Mutex<mpsc::UnboundedReceiver<Vec<u8>>>,
    upstream: SocketAddr,
}

/// One proxy and one loopback upstream for every case; the upstream answers 200 and closes.
fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        // Before the credential chain is first read: made-up keys, nothing of this machine's.
        std::env::set_var("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID);
        std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY);
        std::env::remove_var("AWS_SESSION_TOKEN");
        std::env::remove_var("AWS_PROFILE");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/aws-config");
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials");
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let (sender, heads) = mpsc::unbounded_channel();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let upstream = listener.local_addr().unwrap();
        runtime.spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { continue };
                let sender = sender.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buffer = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buffer[..n]),
                        }
                    }
                    let _ = sender.send(head);
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                    let _ = socket.write_all(answer).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        let config = serde_json::json!({
            "/h": {
                "target": format!("http://{upstream}/base"),
                "service": "execute-api",
                "region": "us-east-1",
                "allowedHeaders": ["x-amz-meta-a", "x-amz-meta-b", "x-team"],
            }
        });
        let proxy = Proxy::from_config(&config).unwrap();
        Harness { runtime, proxy, heads: std::sync::Mutex::new(heads), upstream }
    })
}

/// The header lines of a request head as (lower-case name, value bytes).
fn header_lines(head: &[u8]) -> Vec<(String, Vec<u8>)> {
    let end = head.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    head[..end]
        .split(|&b| b == b'\n')
        .skip(1)
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .map(|line| {
            let colon = line.iter().position(|&b| b == b':').unwrap();
            let value = line[colon + 1..].strip_prefix(b" ").unwrap_or(&line[colon + 1..]);
            (String::from_utf8(line[..colon].to_vec()).unwrap().to_ascii_lowercase(), value.to_vec())
        })
        .collect()
}

/// The signature aws-sigv4 computes over the received headers its SignedHeaders list, their
/// bytes read as Latin-1 (one character per byte, as AWS reads them), at the received x-amz-date.
fn expected_authorization(received: &[(String, Vec<u8>)], url: &str, signed: &[&str]) -> String {
    let get =
        |name: &str| received.iter().find(|(n, _)| n == name).map(|(_, v)| std::str::from_utf8(v).unwrap());
    let amz_date = get("x-amz-date").unwrap();
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &amz_date[0..4],
        &amz_date[4..6],
        &amz_date[6..8],
        &amz_date[9..11],
        &amz_date[11..13],
        &amz_date[13..15]
    );
    let time = SystemTime::try_from(DateTime::from_str(&iso, Format::DateTime).unwrap()).unwrap();
    let headers = received
        .iter()
        .filter(|(n, _)| signed.contains(&n.as_str()) && n != "x-amz-date")
        .map(|(n, v)| (n.as_str(), v.iter().map(|&b| char::from(b)).collect::<String>()))
        .collect::<Vec<_>>();
    let headers = headers.iter().map(|(n, v)| (*n, v.as_str()));
    let identity: Identity = Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("execute-api")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let request = SignableRequest::new("GET", url, headers, SignableBody::Bytes(b"")).unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    let (headers, _) = instructions.into_parts();
    headers.into_iter().find(|h| h.name() == "authorization").unwrap().value().to_string()
}

fn in_random_case(name: &str, bits: u64) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| if bits >> (i % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c })
        .collect()
}

/// The `SignedHeaders=` list of an Authorization header.
fn signed_header_names(authorization: &str) -> Vec<&str> {
    let list = authorization.split("SignedHeaders=").nth(1).expect("SignedHeaders");
    list.split(',').next().unwrap().split(';').collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn value_bytes_pass_unchanged_and_x_amz_headers_are_signed(
        sent in prop::collection::vec((prop::sample::select(FORWARDED.to_vec()), any::<u64>(), value_bytes()), 0..6)
    ) {
        let harness = harness();
        // Node's req.rawHeaders: names as sent, each value byte one character (Latin-1).
        let raw: Vec<String> = sent
            .iter()
            .flat_map(|(name, bits, value)| [in_random_case(name, *bits), value.iter().map(|&b| char::from(b)).collect()])
            .collect();
        let body = IncomingBody::Buffered(Default::default());
        let request = IncomingRequest { method: "GET", url: "/h/x", raw_headers: &raw, body };
        let answer = harness.runtime.block_on(harness.proxy.handle(harness.proxy.choose_route("/h/x"), request));
        // Taken at once, so that a failed case leaves nothing behind for the next one.
        let head = harness.heads.lock().unwrap().try_recv().ok();
        match answer {
            Err(error) => prop_assert!(false, "refused: {}", error),
            Ok(response) => {
                prop_assert_eq!(response.status, 200);
                let received = header_lines(&head.expect("the upstream got the request"));
                for name in FORWARDED {
                    let sent: Vec<&[u8]> = sent.iter().filter(|(n, ..)| *n == name).map(|(.., v)| &v[..]).collect();
                    let got: Vec<&[u8]> = received.iter().filter(|(n, _)| n == name).map(|(_, v)| &v[..]).collect();
                    prop_assert_eq!(got, sent, "the bytes of {} changed", name);
                }
                let authorization = received.iter().find(|(n, _)| n == "authorization").map(|(_, v)| v.clone());
                let authorization = String::from_utf8(authorization.expect("signed")).unwrap();
                let signed = signed_header_names(&authorization);
                for (name, _) in &received {
                    prop_assert!(!name.starts_with("x-amz-") || signed.contains(&name.as_str()), "{} is unsigned", name);
                }
                let url = format!("http://{}/base/x", harness.upstream);
                prop_assert_eq!(&authorization, &expected_authorization(&received, &url, &signed));
            }
        }
    }
}
