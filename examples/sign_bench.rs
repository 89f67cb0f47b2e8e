//! Signing speed inside Rust, for bench/: signs a GET with a query and a 1 KiB JSON POST
//! alternately for a fixed time and prints `{"opsPerSec": N}`.
//!   cargo run --release --example sign_bench [seconds]

use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use proxy_sigv4::endpoint::SigningScope;
use proxy_sigv4::signing::{signature_headers, Payload, RequestToSign};

fn main() {
    let seconds: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let credentials = Credentials::new("AKIDBENCHPROXYSIGV4EX", "bench-secret", None, None, "bench");
    let scope = SigningScope { service: "execute-api".into(), region: "us-east-1".into() };
    let body = format!("{{\"data\":\"{}\"}}", "x".repeat(1013));
    let get = RequestToSign {
        method: "GET",
        url: "https://abc.execute-api.us-east-1.amazonaws.com/prod/items/42?limit=10&q=a%20b",
        headers: vec![("host", "abc.execute-api.us-east-1.amazonaws.com")],
        payload: Payload::Bytes(b""),
    };
    let post = RequestToSign {
        method: "POST",
        url: "https://abc.execute-api.us-east-1.amazonaws.com/prod/items",
        headers: vec![
            ("host", "abc.execute-api.us-east-1.amazonaws.com"),
            ("content-type", "application/json"),
        ],
        payload: Payload::Bytes(body.as_bytes()),
    };
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut ops = 0u64;
    while Instant::now() < deadline {
        for request in [&get, &post] {
            let headers = signature_headers(request, &scope, &credentials, SystemTime::now()).expect("signs");
            std::hint::black_box(headers);
            ops += 1;
        }
    }
    println!("{{\"opsPerSec\": {:.0}}}", ops as f64 / started.elapsed().as_secs_f64());
}
