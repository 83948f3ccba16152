"""Webhook signatures (as a receiver checks them) and the retry schedule (exponential, 24 h, then the DLQ)."""

from __future__ import annotations

import hashlib
import hmac
from itertools import pairwise

import pytest
from apihub.changes.schedule import SQS_MAX_DELAY_S, due_times, hop_delay, next_attempt_at
from apihub.changes.signing import signature_header, verify
from apihub.settings import Settings

SECRET = "whsec_test"
BODY = b'{"id":"evt_1","type":"product.updated"}'


def test_a_receiver_recomputes_the_signature_from_the_raw_body_and_timestamp() -> None:
    # Given the header apihub sends at t=1764115200
    header = signature_header(SECRET, BODY, 1764115200)
    t, v1 = (part.split("=", 1)[1] for part in header.split(","))
    # When a receiver computes HMAC-SHA256(secret, "<t>.<raw body>") on its own
    expected = hmac.new(SECRET.encode(), f"{t}.".encode() + BODY, hashlib.sha256).hexdigest()
    # Then it is the v1 value, and verify() accepts it within the tolerance
    assert t == "1764115200" and v1 == expected
    assert verify(SECRET, header, BODY, now=1764115200 + 60)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        ("whsec_other", BODY, 1764115200),  # another subscription's secret
        (SECRET, BODY.replace(b"updated", b"created"), 1764115200),  # a body changed in transit
        (SECRET, BODY, 1764115200 + 301),  # replayed after the tolerance
    ],
)
def test_a_wrong_secret_an_altered_body_or_a_replay_fails_verification(secret: str, body: bytes, now: int) -> None:
    header = signature_header(SECRET, BODY, 1764115200)
    assert not verify(secret, header, body, now=now)


def test_malformed_signature_headers_do_not_verify() -> None:
    assert not verify(SECRET, "v1=abc", BODY)
    assert not verify(SECRET, "t=soon,v1=abc", BODY)


def test_retries_back_off_exponentially_and_the_last_lands_on_24_hours() -> None:
    # Given the default schedule (base 60 s, give up 24 h after the first attempt)
    times = due_times(0.0, Settings())
    minutes = [t / 60 for t in times]
    # Then attempts fall at 0, 1, 3, 7, ... 1023 minutes, and the last one at exactly 24 h
    assert minutes == [0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 1023, 1440]
    gaps = [b - a for a, b in pairwise(times)]
    assert gaps[:10] == [60 * 2**k for k in range(10)]


def test_an_attempt_failing_at_or_past_24_hours_is_the_last() -> None:
    s = Settings()
    assert next_attempt_at(1000.0, 12, 1000.0 + 86_400, s) is None
    assert next_attempt_at(1000.0, 30, 1000.0 + 90_000, s) is None
    # Late attempts (a slow queue) still never schedule past the give-up time
    assert next_attempt_at(1000.0, 11, 1000.0 + 86_000, s) == 1000.0 + 86_400


def test_long_waits_are_made_of_hops_of_at_most_sqs_s_900_seconds() -> None:
    assert hop_delay(10_000.0, 0.0) == SQS_MAX_DELAY_S == 900
    assert hop_delay(100.5, 0.0) == 101
    assert hop_delay(50.0, 60.0) == 0
