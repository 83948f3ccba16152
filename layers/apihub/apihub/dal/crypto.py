"""Supplier credentials at rest: KMS envelope-free encryption (the payload is a few hundred bytes,
well under KMS's 4 KB direct-encrypt limit), bound to the supplier id with an encryption context."""

from __future__ import annotations

import json

from apihub.dal.clients import client
from apihub.settings import get_settings


def encrypt_credentials(supplier_id: str, credentials: dict[str, str]) -> bytes:
    settings = get_settings()
    resp = client("kms").encrypt(
        KeyId=settings.kms_key_id,
        Plaintext=json.dumps(credentials).encode(),
        EncryptionContext={"supplier_id": supplier_id},
    )
    return bytes(resp["CiphertextBlob"])


def decrypt_credentials(supplier_id: str, ciphertext: bytes) -> dict[str, str]:
    resp = client("kms").decrypt(CiphertextBlob=ciphertext, EncryptionContext={"supplier_id": supplier_id})
    data: dict[str, str] = json.loads(resp["Plaintext"])
    return data


def encrypt_webhook_secret(subscription_id: str, secret: str) -> bytes:
    """A webhook subscription's signing secret, encrypted like supplier credentials but bound to
    the subscription id (a ciphertext copied onto another subscription does not decrypt)."""
    resp = client("kms").encrypt(
        KeyId=get_settings().kms_key_id,
        Plaintext=secret.encode(),
        EncryptionContext={"subscription_id": subscription_id},
    )
    return bytes(resp["CiphertextBlob"])


def decrypt_webhook_secret(subscription_id: str, ciphertext: bytes) -> str:
    resp = client("kms").decrypt(CiphertextBlob=ciphertext, EncryptionContext={"subscription_id": subscription_id})
    return bytes(resp["Plaintext"]).decode()
