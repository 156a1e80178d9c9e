"""The webhook's signature rules, as pure functions (the HTTP behaviour is in tests/e2e/test_webhook.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.common.clock import FakeClock
from bot.networks.webhook.server import MAX_RECORDS, WebhookIngest, sign, signature_ok

SECRET = "0123456789abcdef-secret"
NOW = 1_767_225_600


def test_sign_is_hmac_sha256_of_v1_timestamp_body():
    # fixed vector: printf 'v1:1767225600:{}' | openssl dgst -sha256 -hmac 0123456789abcdef-secret
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"v1:1767225600:{}", hashlib.sha256).hexdigest()
    assert sign(SECRET, "1767225600", b"{}") == "v1=" + expected


def test_any_of_several_signatures_may_match_for_secret_rotation():
    good = sign(SECRET, str(NOW), b"{}")
    old = sign("the-old-secret-0123456", str(NOW), b"{}")
    assert signature_ok(SECRET, str(NOW), f"{old}, {good}", b"{}", NOW)
    assert not signature_ok(SECRET, str(NOW), f"{old}, {old}", b"{}", NOW)


def test_the_window_is_five_minutes_either_way():
    for skew, ok in ((300, True), (-300, True), (301, False), (-301, False)):
        ts = str(NOW + skew)
        assert signature_ok(SECRET, ts, sign(SECRET, ts, b"x"), b"x", NOW) is ok


def test_timestamps_that_are_not_plain_unix_seconds_are_refused():
    for ts in ("", "-5", "1e9", " 1767225600", "17672256000000", "1767225600.5"):
        assert not signature_ok(SECRET, ts, sign(SECRET, ts, b"x"), b"x", NOW)


def test_more_than_the_record_cap_is_413_before_anything_is_stored():
    ingest = WebhookIngest(None, FakeClock(datetime.fromtimestamp(NOW, UTC)), {"facebook": SECRET})  # type: ignore[arg-type]
    body = json.dumps([{"id": str(i)} for i in range(MAX_RECORDS + 1)]).encode()
    ts = str(NOW)
    headers = {"x-followthrough-timestamp": ts, "x-followthrough-signature": sign(SECRET, ts, body)}
    assert ingest.receive("facebook", headers, body).status.startswith("413")
