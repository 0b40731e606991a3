"""CRDs from an ACK sagemaker-controller release on GitHub, cached on disk.

One call resolves the tag (the `latest` release via the releases API), lists
`config/crd/bases` at that tag through the contents API, downloads each YAML
file and keeps them under `cache_dir/<tag>/`. A cached tag is served without
any network. The API base URL is injectable so tests use a local server.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from wizard.generator.crds import CrdInfo, load_crds_from_path
from wizard.generator.errors import ReleaseError

GITHUB_API = "https://api.github.com"
REPO = "aws-controllers-k8s/sagemaker-controller"
CRD_DIR = "config/crd/bases"
COMPLETE_MARK = ".complete"
TIMEOUT = 20.0


def default_cache_dir() -> Path:
    """Where downloaded releases are kept: the platform's user cache dir for labwiz."""
    import platformdirs
    return Path(platformdirs.user_cache_dir("labwiz")) / "ack-crds"


def cached_tags(cache_dir: Path) -> list[str]:
    """Tags fully downloaded into the cache, newest name last."""
    if not cache_dir.is_dir():
        return []
    return sorted(p.name for p in cache_dir.iterdir() if (p / COMPLETE_MARK).exists())


def _offline_hint(cache_dir: Path) -> str:
    """What the learner can do without GitHub."""
    tags = cached_tags(cache_dir)
    if tags:
        return f"Use a cached release with --release {tags[-1]} (cached: {', '.join(tags)}), or --crd PATH."
    return "Use --crd PATH with a CRD file or directory on this machine."


def _get(url: str, cache_dir: Path, accept: str = "application/vnd.github+json") -> bytes:
    """GET a URL with clear errors for rate limits, missing things and being offline."""
    headers = {"Accept": accept, "User-Agent": "labwiz-generator"}
    token = os.environ.get("GITHUB_TOKEN")
    if token and urllib.parse.urlsplit(url).hostname == urllib.parse.urlsplit(GITHUB_API).hostname:
        headers["Authorization"] = f"Bearer {token}"  # raises the rate limit from 60 to 5000 an hour
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as resp:
            return resp.read()
    except urllib.error.HTTPError as exc:
        remaining = exc.headers.get("X-RateLimit-Remaining") if exc.headers else None
        if exc.code == 429 or (exc.code == 403 and remaining == "0"):
            raise ReleaseError(_rate_limit_message(exc, cache_dir)) from None
        if exc.code == 404:
            raise ReleaseError(f"GitHub answered 404 Not Found for {url}.") from None
        raise ReleaseError(f"GitHub answered HTTP {exc.code} {exc.reason} for {url}. "
                           + _offline_hint(cache_dir)) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        host = urllib.parse.urlsplit(url).netloc
        raise ReleaseError(f"cannot reach {host} ({reason}); this machine looks offline. "
                           + _offline_hint(cache_dir)) from None


def _rate_limit_message(exc: urllib.error.HTTPError, cache_dir: Path) -> str:
    """Say when the GitHub rate limit resets and how to avoid it."""
    limit = exc.headers.get("X-RateLimit-Limit", "?")
    reset = exc.headers.get("X-RateLimit-Reset")
    when = ""
    if reset and reset.isdigit():
        wait = max(0, int(reset) - int(time.time()))
        when = f" It resets at {time.strftime('%H:%M:%S UTC', time.gmtime(int(reset)))} (in {wait // 60 + 1} min)."
    elif exc.headers.get("Retry-After"):
        when = f" Retry after {exc.headers['Retry-After']} s."
    return (f"GitHub API rate limit reached (HTTP {exc.code}, limit {limit} requests an hour).{when} "
            "Set GITHUB_TOKEN to raise the limit, or: " + _offline_hint(cache_dir))


def _json(url: str, cache_dir: Path) -> Any:
    """GET and parse JSON."""
    body = _get(url, cache_dir)
    try:
        return json.loads(body)
    except ValueError:
        raise ReleaseError(f"{url} did not answer JSON; is the API base URL right?") from None


def resolve_tag(tag: str, base_url: str, cache_dir: Path) -> str:
    """The concrete tag for `latest`, or the tag itself."""
    if tag != "latest":
        return tag
    try:
        release = _json(f"{base_url}/repos/{REPO}/releases/latest", cache_dir)
    except ReleaseError as exc:
        if "404" in str(exc):
            raise ReleaseError(f"{REPO} has no published latest release; name a tag with --release vX.Y.Z.") from None
        raise
    name = release.get("tag_name") if isinstance(release, dict) else None
    if not name:
        raise ReleaseError(f"the latest release of {REPO} has no tag_name; name a tag with --release vX.Y.Z.")
    return name


def download_release(tag: str, base_url: str, cache_dir: Path) -> Path:
    """Download config/crd/bases of `tag` into cache_dir/<tag> (atomically) and return that directory."""
    quoted = urllib.parse.quote(tag, safe="")
    url = f"{base_url}/repos/{REPO}/contents/{CRD_DIR}?ref={quoted}"
    try:
        listing = _json(url, cache_dir)
    except ReleaseError as exc:
        if "404" in str(exc):
            raise ReleaseError(f"release tag '{tag}' of {REPO} was not found (or it has no {CRD_DIR}). "
                               f"See https://github.com/{REPO}/releases for tag names.") from None
        raise
    if not isinstance(listing, list):
        raise ReleaseError(f"{url} did not answer a directory listing.")
    files = [e for e in listing if e.get("type") == "file" and str(e.get("name", "")).endswith((".yaml", ".yml"))]
    if not files:
        raise ReleaseError(f"{CRD_DIR} at {tag} holds no YAML files.")
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{quoted}-", dir=cache_dir))
    try:
        for entry in files:
            name = Path(entry["name"]).name  # never trust a path from the network
            (staging / name).write_bytes(_get(entry["download_url"], cache_dir, accept="*/*"))
        (staging / COMPLETE_MARK).write_text(json.dumps({"tag": tag, "files": len(files)}))
        final = cache_dir / quoted
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
        return final
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def load_crds_from_release(tag: str = "latest", cache_dir: Path | str | None = None,
                           base_url: str | None = None) -> list[CrdInfo]:
    """The CRDs of an ACK sagemaker-controller release, from the cache or GitHub.

    `base_url` defaults to $LABWIZ_GITHUB_API, else https://api.github.com.
    """
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    base = (base_url or os.environ.get("LABWIZ_GITHUB_API") or GITHUB_API).rstrip("/")
    if tag != "latest":
        cached = cache / urllib.parse.quote(tag, safe="")
        if (cached / COMPLETE_MARK).exists():
            return _load(cached, tag)
    concrete = resolve_tag(tag, base, cache)
    cached = cache / urllib.parse.quote(concrete, safe="")
    if not (cached / COMPLETE_MARK).exists():
        cached = download_release(concrete, base, cache)
    return _load(cached, concrete)


def _load(directory: Path, tag: str) -> list[CrdInfo]:
    """Parse a cached release, labelling each CRD's source with the tag."""
    from dataclasses import replace
    return [replace(c, source=f"{REPO}@{tag}: {Path(c.source).name}") for c in load_crds_from_path(directory)]
