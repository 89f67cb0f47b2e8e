"""Prints, as JSON, what a moto server holds of the S3 buckets and DynamoDB tables named: the
oracle for the scaffolder actions, read with boto3 (not our signer).

Usage: moto-state.py ENDPOINT ACCESS_KEY_ID SECRET_ACCESS_KEY BUCKET TABLE
"""
import json
import sys

import boto3
from botocore.exceptions import ClientError

endpoint, access_key_id, secret_access_key, bucket, table = sys.argv[1:6]
session = boto3.session.Session(
    aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key, region_name="us-east-1"
)
s3 = session.client("s3", endpoint_url=endpoint)
dynamodb = session.client("dynamodb", endpoint_url=endpoint)


def or_none(call, code):
    try:
        return call()
    except ClientError as error:
        if error.response["Error"]["Code"] == code:
            return None
        raise


state = {"bucket": None, "table": None}
if bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    tags = or_none(lambda: s3.get_bucket_tagging(Bucket=bucket)["TagSet"], "NoSuchTagSet") or []
    state["bucket"] = {
        "versioning": s3.get_bucket_versioning(Bucket=bucket).get("Status"),
        "encryption": [r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in encryption["Rules"]],
        "publicAccessBlock": s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"],
        "tags": {t["Key"]: t["Value"] for t in tags},
    }
described = or_none(lambda: dynamodb.describe_table(TableName=table)["Table"], "ResourceNotFoundException")
if described:
    state["table"] = {
        "arn": described["TableArn"],
        "status": described["TableStatus"],
        "keySchema": described["KeySchema"],
        "attributes": described["AttributeDefinitions"],
        "billing": described.get("BillingModeSummary", {}).get("BillingMode"),
        "created": described["CreationDateTime"].isoformat(),
    }
print(json.dumps(state, sort_keys=True))
