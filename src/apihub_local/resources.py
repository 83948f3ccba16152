"""Creates the template's tables, queues (with DLQ redrive), KMS keys, secrets and S3 buckets on a
moto backend, and resolves the functions' environment against them. The template is the only description."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import boto3

from apihub_local.template import Template


@dataclass
class Stack:
    template: Template
    refs: dict[str, Any] = field(default_factory=dict)
    attrs: dict[tuple[str, str], Any] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)  # logical id -> url


# boto3-stubs type boto3.client by literal service name.
Service = Literal["dynamodb", "sqs", "kms", "s3", "secretsmanager"]


def _client(service: Service, region: str, endpoint: str | None) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=endpoint)


def create_stack(
    template: Template | None = None,
    *,
    region: str = "us-east-1",
    endpoint: str | None = None,
    prefix: str = "apihub-local",
    timeout_scale: float = 1.0,
) -> Stack:
    """Create the template's resources on ``endpoint`` (moto) and resolve the functions' environment.

    ``timeout_scale`` shrinks time for the local stack (``Functions(timeout_scale=...)`` shrinks the
    functions' timeouts by the same factor): queue visibility timeouts are multiplied by it (at least
    1 s, so the template's visibility >= 6x timeout rule still holds), and so are the time reserves the
    pipeline keeps before continuing in a fresh invocation, so that they still fit the shorter
    deadlines. With 0.01 a crashed hydrate batch is redelivered after 9 s instead of 15 minutes.
    """
    tpl = template or Template()
    stack = Stack(template=tpl)
    services: tuple[Service, ...] = ("dynamodb", "sqs", "kms", "s3")
    ddb, sqs, kms, s3 = (_client(s, region, endpoint) for s in services)

    for logical_id, res in tpl.of_type("AWS::KMS::Key").items():
        key = kms.create_key(Description=res["Properties"].get("Description", logical_id))["KeyMetadata"]
        if res["Properties"].get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=key["KeyId"])
        stack.refs[logical_id] = key["KeyId"]
        stack.attrs[(logical_id, "Arn")] = key["Arn"]

    secrets = _client("secretsmanager", region, endpoint)
    for logical_id, res in tpl.of_type("AWS::SecretsManager::Secret").items():
        props = res["Properties"]
        arn = secrets.create_secret(
            Name=f"{prefix}-{logical_id}",
            Description=props.get("Description", logical_id),
            KmsKeyId=tpl.resolve(props["KmsKeyId"], stack.refs, stack.attrs),
            SecretString=_generated_secret(props.get("GenerateSecretString", {})),
        )["ARN"]
        stack.refs[logical_id] = arn  # Ref of a secret is its ARN
        stack.attrs[(logical_id, "Id")] = arn

    for logical_id, res in tpl.of_type("AWS::DynamoDB::Table").items():
        props = res["Properties"]
        name = f"{prefix}-{logical_id}"
        kwargs: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        ddb.create_table(**kwargs)
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        stack.refs[logical_id] = name
        stack.attrs[(logical_id, "Arn")] = ddb.describe_table(TableName=name)["Table"]["TableArn"]

    _create_buckets(stack, s3, prefix)

    # Queues without a redrive policy (the DLQs) first, so the others can point at them.
    queues = tpl.of_type("AWS::SQS::Queue")
    ordered = sorted(queues.items(), key=lambda kv: "RedrivePolicy" in kv[1].get("Properties", {}))
    for logical_id, res in ordered:
        props = res.get("Properties", {})
        attributes: dict[str, str] = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds"):
            if key in props:
                value = tpl.resolve(props[key], stack.refs, stack.attrs)
                if key == "VisibilityTimeout" and timeout_scale != 1.0:
                    value = max(1, round(int(value) * timeout_scale))
                attributes[key] = str(value)
        if "RedrivePolicy" in props:
            policy = tpl.resolve(props["RedrivePolicy"], stack.refs, stack.attrs)
            import json

            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": policy["deadLetterTargetArn"],
                    "maxReceiveCount": int(policy["maxReceiveCount"]),
                }
            )
        url = sqs.create_queue(QueueName=f"{prefix}-{logical_id}", Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        stack.refs[logical_id] = url
        stack.attrs[(logical_id, "Arn")] = arn
        stack.attrs[(logical_id, "QueueName")] = f"{prefix}-{logical_id}"
        stack.queue_urls[logical_id] = url

    env = tpl.globals.get("Environment", {}).get("Variables", {})
    stack.environment = {k: str(tpl.resolve(v, stack.refs, stack.attrs)) for k, v in env.items()}
    stack.environment["APIHUB_REGION"] = region
    if endpoint:
        stack.environment["APIHUB_AWS_ENDPOINT_URL"] = endpoint
    if timeout_scale != 1.0:
        stack.environment.update(_scaled_reserves(timeout_scale))
    return stack


def _generated_secret(spec: dict[str, Any]) -> str:
    """A value as ``GenerateSecretString`` would make it (the template's length; letters and digits)."""
    import secrets
    import string

    length = int(spec.get("PasswordLength", 32))
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def _create_buckets(stack: Stack, s3: Any, prefix: str) -> None:
    """The template's buckets, with versioning as declared (policies and lifecycle are AWS's own)."""
    for logical_id, res in stack.template.of_type("AWS::S3::Bucket").items():
        name = f"{prefix}-{logical_id}".lower()  # bucket names are lower case
        s3.create_bucket(Bucket=name)
        versioning = res.get("Properties", {}).get("VersioningConfiguration")
        if versioning:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=versioning)
        stack.refs[logical_id] = name
        stack.attrs[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"


def _scaled_reserves(scale: float) -> dict[str, str]:
    """The pipeline's time reserves (``Settings.*_time_reserve_ms``) and the least time a product
    may start with (``call_min_s``) scaled like the timeouts. Supplier calls are not clamped to the
    scaled deadlines: the suppliers' answers are not scaled (a product of three calls would not fit
    an invocation of half a second on a busy machine)."""
    from apihub.settings import Settings

    out = {}
    for name in ("discovery_time_reserve_ms", "hydrate_time_reserve_ms"):
        default = int(Settings.model_fields[name].default)
        out[f"APIHUB_{name.upper()}"] = str(max(1, round(default * scale)))
    out["APIHUB_CALL_MIN_S"] = str(float(Settings.model_fields["call_min_s"].default) * scale)
    out["APIHUB_CALL_DEADLINES"] = "false"
    return out
