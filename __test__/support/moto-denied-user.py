"""Creates, in a signature-enforcing moto, an IAM user that may only list S3 buckets, and prints
its access key as JSON: STS then refuses its AssumeRole with AccessDenied, naming the user's ARN
and account id in the message, as AWS does. Arguments: moto's URL and a full-access key."""
import json
import sys

import boto3

endpoint, access_key_id, secret_access_key = sys.argv[1:4]
iam = boto3.client(
    "iam",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id=access_key_id,
    aws_secret_access_key=secret_access_key,
)
iam.create_user(UserName="proxy-sigv4-denied")
policy = iam.create_policy(
    PolicyName="list-buckets-only",
    PolicyDocument=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
        }
    ),
)
iam.attach_user_policy(UserName="proxy-sigv4-denied", PolicyArn=policy["Policy"]["Arn"])
key = iam.create_access_key(UserName="proxy-sigv4-denied")["AccessKey"]
print(json.dumps({"accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"]}))
