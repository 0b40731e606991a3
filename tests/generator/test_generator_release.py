"""Release download against a local stand-in for the GitHub API (never the network)."""
from __future__ import annotations

import shutil
import socket

import pytest

from generator_helpers import CRD_DIR, FakeGitHub
from wizard.generator.errors import ReleaseError
from wizard.generator.release import cached_tags, load_crds_from_release


@pytest.fixture()
def github(tmp_path):
    """A fake GitHub with v1.9.1 (all CRDs) as latest and v1.0.0 (two CRDs)."""
    old = tmp_path / "old"
    old.mkdir()
    for name in ("models", "endpoints"):
        shutil.copy(CRD_DIR / f"sagemaker.services.k8s.aws_{name}.yaml", old)
    server = FakeGitHub({"v1.9.1": CRD_DIR, "v1.0.0": old}, latest="v1.9.1")
    yield server
    server.stop()


def test_latest_resolves_downloads_and_caches(github, tmp_path):
    """`latest` asks for the tag, lists the directory, downloads each file, then serves from cache."""
    cache = tmp_path / "cache"
    crds = load_crds_from_release("latest", cache_dir=cache, base_url=github.url)
    assert len(crds) == 26 and {c.kind for c in crds} >= {"TrainingJob", "ModelPackage"}
    assert all(c.source.startswith("aws-controllers-k8s/sagemaker-controller@v1.9.1: ") for c in crds)
    assert cached_tags(cache) == ["v1.9.1"]
    assert sum("/raw/" in r for r in github.requests) == 26
    before = len(github.requests)
    github.stop()  # a named, cached tag needs no network at all
    again = load_crds_from_release("v1.9.1", cache_dir=cache, base_url=github.url)
    assert [c.kind for c in again] == [c.kind for c in crds] and len(github.requests) == before


def test_named_tag(github, tmp_path):
    """A tag other than latest is fetched as named."""
    crds = load_crds_from_release("v1.0.0", cache_dir=tmp_path, base_url=github.url)
    assert sorted(c.kind for c in crds) == ["Endpoint", "Model"]
    assert not any("releases/latest" in r for r in github.requests)


def test_unknown_tag(github, tmp_path):
    """A tag GitHub does not know says so and where to look."""
    with pytest.raises(ReleaseError, match=r"release tag 'v9\.9\.9' .* was not found.*releases for tag names"):
        load_crds_from_release("v9.9.9", cache_dir=tmp_path, base_url=github.url)
    assert cached_tags(tmp_path) == []


def test_rate_limited_403_names_the_reset_time(github, tmp_path):
    """403 with X-RateLimit-Remaining: 0 is reported as a rate limit with its reset time."""
    github.mode = "rate_limited"
    with pytest.raises(ReleaseError) as err:
        load_crds_from_release("latest", cache_dir=tmp_path, base_url=github.url)
    text = str(err.value)
    assert "rate limit reached (HTTP 403, limit 60" in text and "It resets at" in text
    assert "GITHUB_TOKEN" in text and "--crd PATH" in text


def test_429_and_offline_suggest_the_cache(github, tmp_path):
    """429 is a rate limit too; offline (connection refused) points at the cached tag."""
    load_crds_from_release("v1.0.0", cache_dir=tmp_path, base_url=github.url)
    github.mode = "too_many"
    with pytest.raises(ReleaseError, match=r"HTTP 429.*Retry after 30 s.*--release v1\.0\.0"):
        load_crds_from_release("latest", cache_dir=tmp_path, base_url=github.url)
    # a port held by a socket that is bound but not listening refuses connections, and no other
    # test can take it over meanwhile (a just-freed port can be reused by a parallel worker)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
        with pytest.raises(ReleaseError) as err:
            load_crds_from_release("latest", cache_dir=tmp_path, base_url=url)
    assert "looks offline" in str(err.value) and "--release v1.0.0 (cached: v1.0.0)" in str(err.value)


def test_not_a_github_api(tmp_path):
    """A base URL answering something else than JSON is called out."""
    server = FakeGitHub({}, latest="v1")
    try:
        with pytest.raises(ReleaseError, match="404 Not Found|no published latest release"):
            load_crds_from_release("latest", cache_dir=tmp_path, base_url=server.url + "/elsewhere")
    finally:
        server.stop()
