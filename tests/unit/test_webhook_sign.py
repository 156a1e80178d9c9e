"""``followthrough webhook sign``: a curl line whose signature verifies, and never the secret."""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path

import pytest

from bot.cli import main
from bot.networks.webhook.server import signature_ok

SECRET = "Zq8wVv3kP0sLm2Xr7Ty1"


def test_prints_a_curl_line_that_verifies_and_hides_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("WEBHOOK_SECRET_FACEBOOK", SECRET)
    monkeypatch.setenv("PORT", "8123")
    body = (
        b'[{"id": "1", "text": "where is my parcel", "author_id": "9", "author_handle": "jo", '
        b'"created_at": "2026-03-01T12:00:00Z"}]\n'
    )
    posts = tmp_path / "my posts.json"
    posts.write_bytes(body)
    assert main(["--env-file", os.devnull, "webhook", "sign", "--source", "facebook", str(posts)]) == 0
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert SECRET[:6] not in out + err
    words = shlex.split(out)
    assert words[:5] == ["curl", "-sS", "-X", "POST", "http://localhost:8123/ingest/facebook"]
    headers = dict(w.split(": ", 1) for w in words if ": " in w)
    assert words[-2:] == ["--data-binary", f"@{posts}"]
    timestamp = headers["X-Followthrough-Timestamp"]
    assert signature_ok(SECRET, timestamp, headers["X-Followthrough-Signature"], body, time.time())
    assert not signature_ok(SECRET, timestamp, headers["X-Followthrough-Signature"], body + b" ", time.time())


def test_without_the_secret_it_says_which_variable_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.delenv("WEBHOOK_SECRET_EMAIL", raising=False)
    posts = tmp_path / "p.json"
    posts.write_text("{}")
    assert main(["--env-file", os.devnull, "webhook", "sign", "--source", "email", str(posts)]) == 2
    assert "WEBHOOK_SECRET_EMAIL is not set" in capsys.readouterr().err


def test_the_secret_can_come_from_the_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.delenv("WEBHOOK_SECRET_EMAIL", raising=False)
    env = tmp_path / ".env"
    env.write_text(f"WEBHOOK_SECRET_EMAIL={SECRET}\n")
    posts = tmp_path / "p.json"
    posts.write_text("{}")
    assert (
        main(
            [
                "--env-file",
                str(env),
                "webhook",
                "sign",
                "--source",
                "email",
                "--url",
                "https://bot.example/",
                str(posts),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "https://bot.example/ingest/email" in out
    assert SECRET not in out
