"""Signs one request with botocore's SigV4Auth (a third, independent signer for the oracle tests).

stdin: JSON {method, url, headers, body_b64, service, region, access_key_id, secret_access_key,
session_token?}; stdout: JSON object of the headers to send (input headers + the signing ones).
"""
import base64
import json
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

spec = json.load(sys.stdin)
request = AWSRequest(
    method=spec["method"],
    url=spec["url"],
    headers=spec.get("headers") or {},
    data=base64.b64decode(spec.get("body_b64") or ""),
)
credentials = Credentials(spec["access_key_id"], spec["secret_access_key"], spec.get("session_token"))
SigV4Auth(credentials, spec["service"], spec["region"]).add_auth(request)
json.dump(dict(request.headers.items()), sys.stdout)
