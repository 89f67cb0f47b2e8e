"""Presigns with botocore at a fixed time: the independent oracle for presigned URLs and EKS tokens.

stdin: JSON {kind, access_key_id, secret_access_key, session_token?, time (epoch seconds), ...}
  kind "url": {method, url, headers, service, region, expires}: botocore's SigV4QueryAuth
    (S3SigV4QueryAuth for s3) over that request; stdout: the presigned URL.
  kind "eks": {cluster, region}: the token `aws eks get-token` makes (an STS client's presigned
    GetCallerIdentity with the x-k8s-aws-id header, 60 s); stdout: the token.
"""
import base64
import datetime
import json
import sys

import botocore.auth
import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

spec = json.load(sys.stdin)
fixed = datetime.datetime.fromtimestamp(spec["time"], datetime.timezone.utc).replace(tzinfo=None)
botocore.auth.get_current_datetime = lambda remove_tzinfo=True: fixed
credentials = Credentials(spec["access_key_id"], spec["secret_access_key"], spec.get("session_token"))


def presigned_url():
    auth_class = botocore.auth.S3SigV4QueryAuth if spec["service"] == "s3" else botocore.auth.SigV4QueryAuth
    request = AWSRequest(method=spec["method"], url=spec["url"], headers=spec.get("headers") or {})
    auth_class(credentials, spec["service"], spec["region"], expires=spec["expires"]).add_auth(request)
    return request.url


def eks_token():
    # As awscli/customizations/eks/get_token.py: the cluster name travels as a signed header.
    session = botocore.session.get_session()
    session.set_credentials(spec["access_key_id"], spec["secret_access_key"], spec.get("session_token"))
    sts = session.create_client("sts", region_name=spec["region"])

    def take_cluster_param(params, context, **kwargs):
        context["eks_cluster"] = params.pop("ClusterName")

    def add_cluster_header(request, **kwargs):
        request.headers["x-k8s-aws-id"] = request.context["eks_cluster"]

    sts.meta.events.register("provide-client-params.sts.GetCallerIdentity", take_cluster_param)
    sts.meta.events.register("before-sign.sts.GetCallerIdentity", add_cluster_header)
    url = sts.generate_presigned_url(
        "get_caller_identity", Params={"ClusterName": spec["cluster"]}, ExpiresIn=60, HttpMethod="GET"
    )
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


sys.stdout.write(eks_token() if spec["kind"] == "eks" else presigned_url())
