//! Whatever request is signed, our SigV4 core gives byte for byte the headers
//! `aws_sigv4::http_request::sign` gives with the settings we sign with, or leaves the request to
//! aws-sigv4; and what the proxy's signer returns always equals aws-sigv4's answer.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use proptest::prelude::*;
use proxy_sigv4::endpoint::SigningScope;
use proxy_sigv4::signing::signature_headers;
use proxy_sigv4::sigv4::{self, Payload, RequestToSign};

#[derive(Debug, Clone)]
struct Case {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    unsigned: bool,
    service: &'static str,
    region: &'static str,
    access_key_id: &'static str,
    secret: &'static str,
    session_token: Option<&'static str>,
    time: SystemTime,
}

type Signed = Result<Vec<(&'static str, String)>, String>;

/// The settings we sign with, stated here on their own: S3 encodes the path once, never
/// normalises it and sends the payload hash; an unsigned payload is always announced.
fn by_aws_sigv4(case: &Case) -> Signed {
    let mut settings = SigningSettings::default();
    if case.service == "s3" {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    if case.service == "s3" || case.unsigned {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let identity: Identity = credentials(case).into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(case.region)
        .name(case.service)
        .time(case.time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let body = if case.unsigned { SignableBody::UnsignedPayload } else { SignableBody::Bytes(&case.body) };
    let headers = case.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    let request =
        SignableRequest::new(&case.method, case.url.as_str(), headers, body).map_err(|e| e.to_string())?;
    let (instructions, _) = sign(request, &params).map_err(|e| e.to_string())?.into_parts();
    Ok(instructions.into_parts().0.into_iter().map(|h| (h.name(), h.value().to_string())).collect())
}

fn credentials(case: &Case) -> Credentials {
    Credentials::new(case.access_key_id, case.secret, case.session_token.map(String::from), None, "test")
}

fn to_sign(case: &Case) -> RequestToSign<'_> {
    RequestToSign {
        method: &case.method,
        url: &case.url,
        headers: case.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect(),
        payload: if case.unsigned { Payload::Unsigned } else { Payload::Bytes(&case.body) },
    }
}

fn scope(case: &Case) -> SigningScope {
    SigningScope { service: case.service.into(), region: case.region.into() }
}

/// Requests the core leaves to aws-sigv4 although aws-sigv4 signs them.
fn left_to_aws_sigv4_by_design(case: &Case) -> bool {
    case.headers.iter().any(|(name, _)| !name.is_ascii()) || case.time < UNIX_EPOCH
}

fn in_random_case(text: &str, bits: u64) -> String {
    text.chars()
        .enumerate()
        .map(|(i, c)| if bits >> (i % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c })
        .collect()
}

fn origin() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "https://abc.execute-api.us-east-1.amazonaws.com",
        "https://bucket.s3.eu-west-1.amazonaws.com:443",
        "http://localhost:8080",
        "http://example.com:80",
        "https://example.com:0443",
        "HTTPS://Example.COM",
        "https://[::1]:9000",
        "https://user@host.example",
    ])
}

/// Path pieces: reserved and encoded characters, dot segments in several spellings, double
/// slashes, raw and encoded UTF-8, a fragment, a stray `?`, and characters a URL may not hold.
fn path() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        40 => prop::sample::select(vec![
            "/", "//", ".", "..", "/./", "/../", "%2e", "%2F", "%20", "%25", "%", "+", "~",
            "!$&'()*,;=:@", "é", "%C3%A9", "{x}", "[1]", "\"", "#frag", "?",
        ]).prop_map(String::from),
        16 => "[a-zA-Z0-9_-]{1,4}",
        1 => Just("a b".to_string()),
    ];
    // Sometimes no path at all: "https://host" and "https://host?q".
    prop::collection::vec(piece, 0..8).prop_map(|pieces| {
        if pieces.is_empty() {
            String::new()
        } else {
            format!("/{}", pieces.concat())
        }
    })
}

/// Queries with repeated keys, empty values, keys without `=`, `+`, encoded spaces and
/// reserved characters, empty parameters and undecodable escapes.
fn query() -> impl Strategy<Value = Option<String>> {
    let word = prop_oneof![
        3 => prop::sample::select(vec![
            "", "a", "A", "b", "a+b", "a%20b", "%2B", "%2f", "%zz", "%", "é", "%C3%A9", "%FF",
            "~-._", "!*'();:@$,/?", "[]", "x=y",
        ]).prop_map(String::from),
        1 => "[a-z0-9]{1,3}",
    ];
    let param = (word.clone(), prop::option::of(word)).prop_map(|(k, v)| match v {
        Some(v) => format!("{k}={v}"),
        None => k,
    });
    prop::option::of(prop::collection::vec(param, 0..6).prop_map(|params| params.join("&")))
}

/// Header sets with mixed-case and repeated names, the names aws-sigv4 leaves unsigned or sets
/// itself, values with runs of spaces and tabs, and a few it refuses.
fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        40 => prop::sample::select(vec![
            "content-type", "x-amz-meta-a", "x-amz-target", "host", "user-agent", "authorization",
            "x-amzn-trace-id", "transfer-encoding", "x-amz-date", "x-amz-security-token",
            "x-amz-content-sha256", "accept", "range", "x-a", "x-b",
        ]).prop_map(String::from),
        10 => "x-[a-z0-9!#$%&'*+.^_`|~-]{1,6}",
        1 => prop::sample::select(vec!["", "bad name", "ünicode", "\u{212A}ey", "x:y"]).prop_map(String::from),
    ];
    let value = prop_oneof![
        30 => "[ -~\t]{0,16}",
        10 => prop::sample::select(vec!["", " ", "  a  b  ", "a \t  b", "\ta\t", "é ü", "a,b"]).prop_map(String::from),
        1 => prop::sample::select(vec!["a\u{1}b", "a\u{7f}", "line\nbreak"]).prop_map(String::from),
    ];
    prop::collection::vec((name, any::<u64>(), value), 0..7)
        .prop_map(|headers| headers.into_iter().map(|(n, bits, v)| (in_random_case(&n, bits), v)).collect())
}

/// Times across many days, often on either side of midnight UTC, some before 1970.
fn time() -> impl Strategy<Value = SystemTime> {
    let day = 86_400u64;
    prop_oneof![
        6 => (0u64..4_102_444_800, 0u32..1_000_000_000)
            .prop_map(|(s, n)| UNIX_EPOCH + Duration::from_secs(s) + Duration::from_nanos(n.into())),
        3 => (0u64..50_000, prop::sample::select(vec![0u64, 1, day - 1]))
            .prop_map(move |(d, s)| UNIX_EPOCH + Duration::from_secs(d * day + s)),
        1 => (1u64..400 * day).prop_map(|s| UNIX_EPOCH - Duration::from_secs(s)),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let who = (
        prop::sample::select(vec!["AKIDEXAMPLE", "ASIAEXAMPLE2"]),
        prop::sample::select(vec!["wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "other-secret"]),
        prop::option::of(prop::sample::select(vec![
            "FwoGZXIvYXdzEXAMPLE//+=",
            "FwoGZXIvYXdzEXAMPLE//+=",
            "FwoGZXIvYXdzEXAMPLE//+=",
            "tok  en ",
            "tok  en ",
            "tok  en ",
            "bad\u{1}token",
        ])),
    );
    let scope = (
        prop::sample::select(vec!["s3", "execute-api", "lambda", "service"]),
        prop::sample::select(vec!["us-east-1", "eu-west-1"]),
    );
    let method = prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "HEAD", "get"]);
    let body = prop_oneof![Just(Vec::new()), prop::collection::vec(any::<u8>(), 0..300)];
    (method, origin(), path(), query(), headers(), body, any::<bool>(), who, scope, time()).prop_map(
        |(method, origin, path, query, headers, body, unsigned, who, (service, region), time)| Case {
            method: method.to_string(),
            url: match query {
                Some(query) => format!("{origin}{path}?{query}"),
                None => format!("{origin}{path}"),
            },
            headers,
            body,
            unsigned,
            service,
            region,
            access_key_id: who.0,
            secret: who.1,
            session_token: who.2,
            time,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8192, ..ProptestConfig::default() })]

    #[test]
    fn the_core_signs_as_aws_sigv4_or_leaves_the_request_to_it(case in case()) {
        let expected = by_aws_sigv4(&case);
        match sigv4::sign(&to_sign(&case), &scope(&case), &credentials(&case), case.time) {
            Ok(ours) => prop_assert_eq!(Ok(ours), expected),
            Err(why) => prop_assert!(
                expected.is_err() || left_to_aws_sigv4_by_design(&case),
                "left to aws-sigv4 ({}) though it signs it",
                why.0
            ),
        }
    }

    #[test]
    fn the_proxy_signer_answers_as_aws_sigv4(case in case()) {
        let expected = by_aws_sigv4(&case);
        let ours = signature_headers(&to_sign(&case), &scope(&case), &credentials(&case), case.time);
        prop_assert_eq!(ours.is_ok(), expected.is_ok(), "ours {:?}, aws-sigv4 {:?}", ours.as_ref().err(), expected);
        if let (Ok(ours), Ok(expected)) = (ours, expected) {
            prop_assert_eq!(ours, expected);
        }
    }
}

/// The generated requests are mostly ones the core signs itself, so the properties above test
/// it rather than the fallback.
#[test]
fn most_generated_requests_are_signed_by_the_core() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut signed, total) = (0, 2000);
    for _ in 0..total {
        let case = case().new_tree(&mut runner).unwrap().current();
        if sigv4::sign(&to_sign(&case), &scope(&case), &credentials(&case), case.time).is_ok() {
            signed += 1;
        }
    }
    assert!(signed * 10 > total * 6, "the core signed {signed} of {total}");
}

/// AWS's published SigV4 test suite, "get-vanilla-query-order-key-case", through the core alone.
#[test]
fn the_core_reproduces_an_aws_test_suite_vector() {
    let case = Case {
        method: "GET".into(),
        url: "https://example.amazonaws.com/?Param2=value2&Param1=value1".into(),
        headers: vec![("host".into(), "example.amazonaws.com".into())],
        body: Vec::new(),
        unsigned: false,
        service: "service",
        region: "us-east-1",
        access_key_id: "AKIDEXAMPLE",
        secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        session_token: None,
        time: UNIX_EPOCH + Duration::from_secs(1_440_938_160),
    };
    let headers = sigv4::sign(&to_sign(&case), &scope(&case), &credentials(&case), case.time).unwrap();
    assert_eq!(
        headers[1].1,
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
         SignedHeaders=host;x-amz-date, \
         Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
    );
}
