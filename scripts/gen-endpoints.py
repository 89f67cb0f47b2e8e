#!/usr/bin/env python3
"""Generates the addon's AWS endpoint table from botocore's endpoint data, and the test fixture
that checks service/region inference against botocore's own resolver.

    .venv/bin/python scripts/gen-endpoints.py     (scripts/setup-python.sh makes the venv)

Writes src/endpoint_data.rs (compiled into the addon: DNS suffixes, signing names that differ
from the host label, hosts the data names explicitly) and tests/data/aws-endpoint-forms.tsv
(every host form botocore resolves, with the signing name and region botocore would sign it
with). Reads only the installed botocore package: no network.
"""
import json
import os
import sys

import botocore
import botocore.loaders
from botocore.regions import EndpointResolver

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(botocore.__file__), "data")
VARIANTS = [(False, False), (True, False), (False, True), (True, True)]  # (fips, dualstack)


def signing_names():
    """endpointPrefix -> signingName, from every service model."""
    loader = botocore.loaders.create_loader()
    names = {}
    for service in loader.list_available_services("service-2"):
        meta = loader.load_service_model(service, "service-2")["metadata"]
        prefix = meta.get("endpointPrefix")
        if prefix:
            names.setdefault(prefix, meta.get("signingName") or prefix)
    return names


def signs_v4(endpoint):
    return any(v in ("v4", "s3v4") for v in endpoint.get("signatureVersions", ["v4"]))


def forms(endpoints, names):
    """(host, signing name, region) for every endpoint and variant botocore resolves."""
    resolver = EndpointResolver(endpoints)
    seen = {}
    for partition in endpoints["partitions"]:
        for prefix, service in partition["services"].items():
            for name, endpoint in service.get("endpoints", {}).items():
                if endpoint.get("deprecated"):
                    continue
                for fips, dualstack in VARIANTS:
                    try:
                        resolved = resolver.construct_endpoint(
                            prefix,
                            name,
                            partition_name=partition["partition"],
                            use_fips_endpoint=fips,
                            use_dualstack_endpoint=dualstack,
                        )
                    except Exception:  # a variant the data does not define for this endpoint
                        continue
                    if not resolved or not signs_v4(resolved):
                        continue
                    scope = resolved.get("credentialScope", {})
                    region = scope.get("region", name)
                    signing = scope.get("service", names.get(prefix, prefix))
                    host = resolved["hostname"].lower()
                    seen.setdefault(host, set()).add((signing, region))
    # A host the data resolves to two scopes cannot be inferred: left out (reported).
    clashes = sorted(host for host, scopes in seen.items() if len(scopes) > 1)
    for host in clashes:
        print(f"gen-endpoints: {host} resolves to {sorted(seen[host])}; left out", file=sys.stderr)
    return sorted((host, *next(iter(scopes))) for host, scopes in seen.items() if len(scopes) == 1)


def irregular_hosts(all_forms, names, suffixes):
    """The forms not spelled `<label>[-fips].<region>.<dns suffix>` with the label's signing
    name: global endpoints (`sts.amazonaws.com` signs for us-east-1), legacy and odd names. The
    addon looks these up; the regular ones it derives from the host's labels."""

    def regular(host, signing, region):
        for suffix in suffixes:
            head = host.removesuffix("." + suffix)
            if head != host:
                label, _, rest = head.partition(".")
                label = label.removesuffix("-fips")
                return rest == region and names.get(label, label) == signing
        return False

    return [form for form in all_forms if not regular(*form)]


def dns_suffixes(endpoints):
    suffixes = set()
    for partition in endpoints["partitions"]:
        suffixes.add(partition["dnsSuffix"])
        for variant in partition["defaults"].get("variants", []):
            if variant.get("dnsSuffix"):
                suffixes.add(variant["dnsSuffix"])
    # Longest first, so amazonaws.com.cn is tried before amazonaws.com.
    return sorted(suffixes, key=lambda s: (-len(s), s))


def rust_strs(items):
    return "".join(f"    {item},\n" for item in items)


def main():
    endpoints = json.load(open(os.path.join(DATA, "endpoints.json")))
    names = signing_names()
    version = f"botocore {botocore.__version__}, endpoints.json version {endpoints.get('version')}"
    all_forms = forms(endpoints, names)
    differing = sorted((prefix, name) for prefix, name in names.items() if name != prefix)
    suffixes = dns_suffixes(endpoints)
    hosts = irregular_hosts(all_forms, names, suffixes)
    partitions = [p["partition"] for p in endpoints["partitions"]]
    with open(os.path.join(REPO, "src", "endpoint_data.rs"), "w") as out:
        out.write(
            f"//! AWS endpoint data, generated by `scripts/gen-endpoints.py` from {version}\n"
            f"//! (partitions {', '.join(partitions)}). Do not edit: regenerate.\n\n"
            f'pub const DATA_VERSION: &str = "{version}";\n\n'
            "/// The DNS suffixes of every partition, standard and dual-stack, longest first.\n"
            "pub const DNS_SUFFIXES: &[&str] = &[\n"
            + rust_strs(json.dumps(s) for s in suffixes)
            + "];\n\n"
            "/// Host label (a service model's endpointPrefix) -> SigV4 signing name, where they differ.\n"
            "pub const SIGNING_NAMES: &[(&str, &str)] = &[\n"
            + rust_strs(f"({json.dumps(p)}, {json.dumps(n)})" for p, n in differing)
            + "];\n\n"
            "/// Hosts not of the form `<label>[-fips].<region>.<dns suffix>` with the label's signing\n"
            "/// name (global, legacy and odd endpoints) -> (signing name, region), sorted by host.\n"
            "pub const HOSTS: &[(&str, &str, &str)] = &[\n"
            + rust_strs(f"({json.dumps(h)}, {json.dumps(s)}, {json.dumps(r)})" for h, s, r in hosts)
            + "];\n"
        )
    os.makedirs(os.path.join(REPO, "tests", "data"), exist_ok=True)
    with open(os.path.join(REPO, "tests", "data", "aws-endpoint-forms.tsv"), "w") as out:
        out.write(f"# every host form {version} resolves: host, signing name, region\n")
        for host, signing, region in all_forms:
            out.write(f"{host}\t{signing}\t{region}\n")
    print(f"gen-endpoints: {len(differing)} signing names, {len(hosts)} hosts, {len(all_forms)} forms ({version})")


if __name__ == "__main__":
    main()
