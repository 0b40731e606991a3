"""`labwiz sandbox build-ack` and `sandbox up --ack real` when something is missing: the
messages, the cache, and the Go module proxy's refusal (provoked for real where the proxy
refuses the module, and through a loopback proxy that refuses everywhere)."""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from wizard.sandbox import manager, realack
from wizard.sandbox.cli import sandbox

FAKE_HELP = "#!/bin/sh\necho '  --aws-endpoint-url string'\necho '  --enable-carm'\n"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty labwiz ACK cache, and no user-supplied binary or CRDs."""
    monkeypatch.setenv(realack.ENV_CACHE, str(tmp_path / "cache"))
    monkeypatch.delenv(realack.ENV_BINARY, raising=False)
    monkeypatch.delenv(realack.ENV_CRDS, raising=False)
    return tmp_path / "cache"


def _build(*args: str, env: dict | None = None):
    return CliRunner().invoke(sandbox, ["--state-dir", "unused", "build-ack", *args],
                              env=env, catch_exceptions=False)


def test_without_go_says_what_is_needed(cache, tmp_path):
    """No go on PATH: exit 5, naming Go, its version and how to bring a binary instead."""
    result = _build(env={"PATH": str(tmp_path / "empty-bin")})
    assert result.exit_code == 5, result.output
    assert "Go is not installed (no `go` on PATH)" in result.output
    assert f"Go {realack.GO_NEEDED} or newer" in result.output
    assert "LABWIZ_ACK_CONTROLLER=/path/to/controller" in result.output
    assert not (cache / realack.DEFAULT_VERSION / "bin" / "controller").exists()


def test_cached_binary_is_reused_without_go(cache, tmp_path):
    """A binary already in the cache that answers like ACK's is reused: Go is not needed."""
    binary = cache / realack.DEFAULT_VERSION / "bin" / "controller"
    binary.parent.mkdir(parents=True)
    binary.write_text(FAKE_HELP)
    binary.chmod(0o755)
    result = _build(env={"PATH": "/usr/bin:/bin"})  # sh only; no go there or not, unused
    assert result.exit_code == 0, result.output
    assert f"{binary} (reused)" in result.output


def test_cached_file_that_is_not_the_controller_is_not_reused(cache, tmp_path):
    """A file at the cache path that does not answer like the controller is built again."""
    binary = cache / realack.DEFAULT_VERSION / "bin" / "controller"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\necho hello\n")
    binary.chmod(0o755)
    result = _build(env={"PATH": str(tmp_path / "empty-bin")})
    assert result.exit_code == 5 and "Go is not installed" in result.output


class _Refusing(http.server.BaseHTTPRequestHandler):
    """A module proxy that refuses every module as proxy.golang.org refuses one."""

    def do_GET(self):  # noqa: N802 - the http.server interface
        body = b"This module version is not available."
        self.send_response(403)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        """Quiet."""


@pytest.mark.skipif(shutil.which("go") is None, reason="Go is absent: no proxy to refuse")
def test_proxy_refusal_from_a_loopback_proxy(cache, tmp_path):
    """GOPROXY answering 403: the message quotes the command, the answer and what to do."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = dict(os.environ, GOPROXY=f"http://127.0.0.1:{server.server_port}",
                   GOMODCACHE=str(tmp_path / "modcache"))
        env.pop(realack.ENV_BINARY, None)
        result = _build(env=env)
    finally:
        server.shutdown()
    assert result.exit_code == 5, result.output
    assert "the Go module proxy refused github.com/aws-controllers-k8s/sagemaker-controller" \
           "@v1.9.1" in result.output
    assert "403 Forbidden (This module version is not available.)" in result.output
    assert "go install github.com/aws-controllers-k8s/sagemaker-controller/cmd/controller" \
           "@v1.9.1" in result.output
    assert "LABWIZ_ACK_CONTROLLER=/path/to/controller" in result.output


def _proxy_serves_module() -> bool | None:
    """Whether the configured proxy serves the module (None when go cannot tell)."""
    proc = subprocess.run(["go", "list", "-m", "-json",
                           f"{realack.MODULE}@{realack.DEFAULT_VERSION}"],
                          capture_output=True, text=True, timeout=120, cwd="/")
    if proc.returncode == 0:
        return True
    return False if "403" in proc.stderr or "404" in proc.stderr else None


@pytest.mark.skipif(shutil.which("go") is None, reason="Go is absent: no proxy to ask")
def test_real_proxy_refusal_when_it_refuses(cache):
    """Against the real module proxy: where it refuses v1.9.1 (as here), the same message."""
    if _proxy_serves_module() is not False:
        pytest.skip("the module proxy serves the module here (or cannot be reached), so its "
                    "refusal cannot be provoked; `labwiz sandbox build-ack` would build it")
    result = _build()
    assert result.exit_code == 5, result.output
    assert "the Go module proxy refused" in result.output and "403" in result.output


def test_up_real_without_a_controller_is_refused_at_once(cache, tmp_path):
    """`sandbox up --ack real` with nothing to run: exit 5 before any daemon starts."""
    result = CliRunner().invoke(sandbox, ["--state-dir", str(tmp_path / "state"), "up",
                                          "--ack", "real"], catch_exceptions=False)
    assert result.exit_code == 5, result.output
    assert "--ack real needs the real ACK SageMaker controller" in result.output
    assert "labwiz sandbox build-ack" in result.output
    assert not (tmp_path / "state" / "sandbox" / "daemon.log").exists()


def test_user_binary_must_be_executable(cache, tmp_path, monkeypatch):
    """LABWIZ_ACK_CONTROLLER naming nothing usable is said plainly."""
    monkeypatch.setenv(realack.ENV_BINARY, str(tmp_path / "nope"))
    with pytest.raises(realack.RealAckError, match="is not an executable file"):
        realack.find_binary()
    with pytest.raises(manager.SandboxError, match="LABWIZ_ACK_CONTROLLER"):
        manager.up(tmp_path / "state", ack="real")


def test_unknown_ack_mode(monkeypatch):
    """LABWIZ_SANDBOX_ACK other than builtin or real is refused with the choices."""
    monkeypatch.setenv("LABWIZ_SANDBOX_ACK", "fake")
    with pytest.raises(manager.SandboxError, match="use builtin or real"):
        manager.ack_mode()
    assert manager.ack_mode("real") == "real"
    monkeypatch.delenv("LABWIZ_SANDBOX_ACK")
    assert manager.ack_mode() == "builtin"


def test_crds_dir_must_hold_crds(cache, tmp_path, monkeypatch):
    """LABWIZ_ACK_CRDS naming a folder without ACK's CRD files is refused."""
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv(realack.ENV_CRDS, str(tmp_path / "empty"))
    with pytest.raises(realack.RealAckError, match="holds no sagemaker"):
        realack.find_crds()
    assert Path(realack.cache_dir("v9.9.9")).name == "v9.9.9"
