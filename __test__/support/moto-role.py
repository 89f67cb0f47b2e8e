"""Creates an IAM role that may do anything in a moto server that checks signatures, so that
credentials from AssumeRole of it are accepted there; prints the role's ARN.

Usage: moto-role.py ENDPOINT ACCESS_KEY_ID SECRET_ACCESS_KEY ROLE_NAME
"""
import json
import sys

import boto3

endpoint, access_key_id, secret_access_key, role_name = sys.argv[1:5]
iam = boto3.client(
    "iam",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id=access_key_id,
    aws_secret_access_key=secret_access_key,
)
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
iam.put_role_policy(RoleName=role_name, PolicyName="everything", PolicyDocument=json.dumps(everything))
print(role["Arn"])
