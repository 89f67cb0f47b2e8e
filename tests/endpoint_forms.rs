//! Every host form AWS's endpoint data resolves (tests/data/aws-endpoint-forms.tsv, written by
//! scripts/gen-endpoints.py from botocore's own resolver) is inferred as AWS signs it.

use proxy_sigv4::endpoint::infer_scope;

/// Forms botocore's data resolves one way while signing needs another, each with the reason.
const EXCEPTIONS: &[(&str, &str)] = &[
    ("localhost:8000", "DynamoDB Local, a development endpoint: not an AWS host"),
    // The data gives no credentialScope, so botocore would sign for a region named after the
    // endpoint; that is no region, and a guess is worse than asking for `region`.
    ("codecatalyst-fips.aws-global.amazonaws.com", "endpoint name, not a region"),
    ("codecatalyst-fips.aws-global.api.aws", "endpoint name, not a region"),
    ("codecatalyst.aws-global.api.aws", "endpoint name, not a region"),
    ("mturk-requester-fips.sandbox.amazonaws.com", "endpoint name, not a region"),
    ("mturk-requester-fips.sandbox.api.aws", "endpoint name, not a region"),
    ("mturk-requester.sandbox.api.aws", "endpoint name, not a region"),
];

#[test]
fn every_form_in_the_endpoint_data_is_inferred_as_aws_signs_it() {
    let forms = include_str!("data/aws-endpoint-forms.tsv");
    let mut checked = 0;
    let mut wrong = Vec::new();
    for line in forms.lines().filter(|l| !l.starts_with('#')) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [host, service, region] = fields[..] else { panic!("bad fixture line {line:?}") };
        checked += 1;
        if EXCEPTIONS.iter().any(|(excepted, _)| *excepted == host) {
            continue;
        }
        let inferred = infer_scope(host).map(|s| (s.service, s.region));
        if inferred != Some((service.to_string(), region.to_string())) {
            wrong.push(format!("{host}: expected {service} {region}, inferred {inferred:?}"));
        }
    }
    assert!(checked > 20_000, "only {checked} forms in the fixture");
    assert!(
        wrong.is_empty(),
        "{} of {checked} forms inferred wrongly:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(40)].join("\n")
    );
}

/// Every AWS host the documentation shows, with how AWS signs it; a host added to the docs
/// without an entry here fails the test.
#[test]
fn every_host_in_the_docs_is_inferred_as_aws_signs_it() {
    let expected = [
        ("abc.execute-api.us-west-2.amazonaws.com", "execute-api", "us-west-2"),
        ("abc.execute-api.eu-west-1.amazonaws.com", "execute-api", "eu-west-1"),
        ("exports.s3.eu-west-1.amazonaws.com", "s3", "eu-west-1"),
        ("abc123.execute-api.eu-west-1.amazonaws.com", "execute-api", "eu-west-1"),
        ("abc123.execute-api.us-west-2.amazonaws.com", "execute-api", "us-west-2"),
        ("abc123defg.execute-api.us-east-1.amazonaws.com", "execute-api", "us-east-1"),
        ("my-bucket.s3.eu-west-1.amazonaws.com", "s3", "eu-west-1"),
        ("s3.eu-west-1.amazonaws.com", "s3", "eu-west-1"),
        ("search-logs-abc.eu-west-1.es.amazonaws.com", "es", "eu-west-1"),
        ("search-x.eu-west-1.es.amazonaws.com", "es", "eu-west-1"),
        ("sqs.eu-west-1.amazonaws.com", "sqs", "eu-west-1"),
        ("sts.amazonaws.com", "sts", "us-east-1"),
        ("iam.amazonaws.com", "iam", "us-east-1"),
        ("iam.us-gov.amazonaws.com", "iam", "us-gov-west-1"),
        ("vpce-0a1b2c3d4e5f-abcd1234.execute-api.us-east-1.vpce.amazonaws.com", "execute-api", "us-east-1"),
    ];
    let docs = [
        "README.md",
        "MIGRATING.md",
        "plugins/proxy-sigv4-backend/README.md",
        "plugins/proxy-sigv4-backend/config.d.ts",
        "plugins/proxy-sigv4-node/README.md",
        "plugins/scaffolder-backend-module-proxy-sigv4/README.md",
    ]
    .map(|doc| std::fs::read_to_string(format!("{}/{doc}", env!("CARGO_MANIFEST_DIR"))).unwrap());
    let is_host_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'-';
    for text in &docs {
        for (at, _) in text.match_indices(".amazonaws.com").chain(text.match_indices(".on.aws")) {
            let start = text[..at].bytes().rposition(|b| !is_host_byte(b)).map_or(0, |i| i + 1);
            let end = at + text[at..].bytes().position(|b| !is_host_byte(b)).unwrap_or(text.len() - at);
            let host = text[start..end].trim_end_matches('.');
            if host.starts_with('.') {
                continue; // a suffix in prose, e.g. `.es.amazonaws.com`
            }
            if host.ends_with(".mrap.accesspoint.s3-global.amazonaws.com") {
                // A Multi-Region Access Point names no region: AWS signs it with SigV4A for a
                // region set, and the docs give it `service: s3` and `signingAlgorithm: sigv4a`.
                assert_eq!(infer_scope(host).map(|s| s.region), None, "{host} must not be given a region");
                continue;
            }
            let (_, service, region) = expected
                .iter()
                .find(|(known, _, _)| *known == host)
                .unwrap_or_else(|| panic!("{host} is in the docs: add how AWS signs it to this test"));
            let inferred = infer_scope(host).map(|s| (s.service, s.region));
            assert_eq!(inferred, Some((service.to_string(), region.to_string())), "{host}");
        }
    }
}
