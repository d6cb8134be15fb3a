"""Prepares a moto_server for the S3 probe tests and prints what it made.

moto enforces SigV4 authentication and IAM policies once its first
INITIAL_NO_AUTH_ACTION_COUNT requests are spent; the first three requests
here make an admin user, so everything after them is signed and checked.

Usage: python3 moto_setup.py http://127.0.0.1:PORT
Prints one JSON object: the buckets and the keys of each user.
"""
import json
import sys

import boto3

endpoint = sys.argv[1]
region = "us-east-1"


def client(service, keys=None):
    extra = {}
    if keys:
        extra = dict(aws_access_key_id=keys[0], aws_secret_access_key=keys[1])
    else:
        extra = dict(aws_access_key_id="AKIAUNAUTHENTICATED0", aws_secret_access_key="x")
    return boto3.client(service, endpoint_url=endpoint, region_name=region, **extra)


def keys_of(response):
    key = response["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


# The three unauthenticated requests.
iam = client("iam")
iam.create_user(UserName="admin")
iam.put_user_policy(
    UserName="admin",
    PolicyName="all",
    PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    ),
)
admin = keys_of(iam.create_access_key(UserName="admin"))

iam = client("iam", admin)
s3 = client("s3", admin)
s3.create_bucket(Bucket="plx-artifacts")


def user(name, actions):
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="s3",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
            }
        ),
    )
    return keys_of(iam.create_access_key(UserName=name))


writer = user("writer", ["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"])
reader = user("reader", ["s3:ListBucket", "s3:GetObject"])
print(
    json.dumps(
        {
            "bucket": "plx-artifacts",
            "writer": {"access_key": writer[0], "secret_key": writer[1]},
            "reader": {"access_key": reader[0], "secret_key": reader[1]},
        }
    )
)
