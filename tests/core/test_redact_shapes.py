"""The core redactor (log lines, screen output, the event log) hides credential shapes nobody
registered, and leaves ordinary text alone."""

from __future__ import annotations

import pytest

from wizard.secrets import MASK, redact


@pytest.mark.parametrize("text, secret", [
    ("export KF_PIPELINES_TOKEN=tok-abc123def456", "tok-abc123def456"),
    ('DB_PASSWORD="hunter2 with spaces"', "hunter2 with spaces"),
    ("kfp --endpoint https://bob:pa55word@kf.example.com/pipeline run list", "pa55word"),
    ("dex-login --password s3cr3t-value --user learner@example.com", "s3cr3t-value"),
    ("Cookie: _oauth2_proxy=b64cookievalue0123; other=1", "b64cookievalue0123"),
    ("Cookie: authservice_session=MTY5abcdefgh", "MTY5abcdefgh"),
    ("Authorization: Bearer abcdefghijklmnop.qrst", "abcdefghijklmnop.qrst"),
    ("key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"),
])
def test_credential_shapes_are_masked(text: str, secret: str) -> None:
    """Each shape loses its value and keeps its label, so the line still says what was there."""
    out = redact(text)
    assert secret not in out
    assert MASK in out


@pytest.mark.parametrize("text", [
    "GET /apis/v2beta1/runs?next_page_token=abc123&page_size=10",
    "KF_PIPELINES_ENDPOINT=http://localhost:8888",
    "docker login --password-stdin",
    "open http://127.0.0.1:31380/pipeline and mail learner@example.com",
    "git clone git@github.com:owner/repo.git",
])
def test_ordinary_text_is_left_alone(text: str) -> None:
    """Page tokens, endpoints, flags without a value, addresses and remotes are not secrets."""
    assert redact(text) == text
