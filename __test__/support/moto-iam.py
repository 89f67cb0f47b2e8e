"""Creates an IAM user with full access and an access key in a moto server, and prints the key
as JSON. Run against a moto started with INITIAL_NO_AUTH_ACTION_COUNT=4: these four calls are
the unauthenticated ones, after which moto checks every request's signature."""
import json
import sys

import boto3

endpoint = sys.argv[1]
iam = boto3.client(
    "iam",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="bootstrap",
    aws_secret_access_key="bootstrap",
)
iam.create_user(UserName="proxy-sigv4-test")
policy = iam.create_policy(
    PolicyName="everything",
    PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    ),
)
iam.attach_user_policy(UserName="proxy-sigv4-test", PolicyArn=policy["Policy"]["Arn"])
key = iam.create_access_key(UserName="proxy-sigv4-test")["AccessKey"]
print(json.dumps({"accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"]}))
