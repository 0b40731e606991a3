"""The real ACK SageMaker controller: where its binary and CRDs live, and building it with Go.

``labwiz sandbox build-ack`` runs exactly what the controller's own release process offers to
anyone with Go: ``go install github.com/aws-controllers-k8s/sagemaker-controller/cmd/controller@
<version>`` with ``GOBIN`` in labwiz's cache (``~/.cache/labwiz/ack/<version>/bin``), then copies
the module's ``config/crd/bases`` (the directory ``go mod download -json`` names) beside it. A
binary already in the cache is reused. Nothing here builds the controller any other way: when
Go is missing or the module proxy refuses the module, the error says what was run, what the
proxy answered, and how to point labwiz at a controller binary the user already has
(``LABWIZ_ACK_CONTROLLER``, ``LABWIZ_ACK_CRDS``).

The sandbox runs the binary with :mod:`wizard.sandbox.realack_run`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from wizard.errors import EnvironmentProblem

MODULE = "github.com/aws-controllers-k8s/sagemaker-controller"
COMMAND = MODULE + "/cmd/controller"
DEFAULT_VERSION = "v1.9.1"
#: the controller's go.mod asks for this Go (older toolchains download it, or refuse)
GO_NEEDED = "1.25"
CRD_GROUP = "sagemaker.services.k8s.aws"
#: environment variables a user sets to bring their own controller and CRDs
ENV_BINARY, ENV_CRDS, ENV_CACHE = "LABWIZ_ACK_CONTROLLER", "LABWIZ_ACK_CRDS", "LABWIZ_ACK_CACHE"
#: what a binary must answer to ``--help`` to be taken for the ACK controller
_ACK_FLAGS = ("--aws-endpoint-url", "--enable-carm")


class RealAckError(EnvironmentProblem):
    """The real controller cannot be built or found; the message says what to do next."""


def cache_root() -> Path:
    """``LABWIZ_ACK_CACHE``, else the platform's user cache dir for labwiz, plus ``ack``."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("labwiz")) / "ack"


def cache_dir(version: str = DEFAULT_VERSION) -> Path:
    """Where one version's binary (``bin/controller``) and CRDs (``crds/``) are kept."""
    return cache_root() / version


def cached_binary(version: str = DEFAULT_VERSION) -> Path:
    """The path ``go install`` writes the controller to for ``version``."""
    return cache_dir(version) / "bin" / "controller"


def install_command(version: str = DEFAULT_VERSION) -> list[str]:
    """The exact ``go install`` command, runnable as printed (``GOBIN`` set in the env)."""
    return ["go", "install", f"{COMMAND}@{version}"]


def printable_command(version: str = DEFAULT_VERSION) -> str:
    """The command as a person would type it in a shell."""
    return f"GOBIN={cache_dir(version) / 'bin'} " + " ".join(install_command(version))


# -- finding what is there ---------------------------------------------------------------------
def is_controller(path: Path, timeout: float = 20.0) -> bool:
    """Whether ``path`` runs and answers ``--help`` with the ACK runtime's flags.

    A different observer than the build: the file is executed, not merely found.
    """
    try:
        proc = subprocess.run([str(path), "--help"], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    text = proc.stdout + proc.stderr
    return all(flag in text for flag in _ACK_FLAGS)


def find_binary(version: str = DEFAULT_VERSION) -> Path | None:
    """``LABWIZ_ACK_CONTROLLER`` when set (it must exist), else the cached binary, else None."""
    explicit = os.environ.get(ENV_BINARY)
    if explicit:
        path = Path(explicit).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise RealAckError(f"{ENV_BINARY}={explicit} is not an executable file",
                               f"point {ENV_BINARY} at the ACK SageMaker controller's binary, "
                               "or unset it to use the cache")
        return path
    path = cached_binary(version)
    return path if path.is_file() and os.access(path, os.X_OK) else None


def _has_crds(directory: Path) -> bool:
    return directory.is_dir() and any(directory.glob(f"{CRD_GROUP}_*.yaml"))


def find_crds(version: str = DEFAULT_VERSION) -> Path | None:
    """The directory with the release's ``sagemaker.services.k8s.aws_*.yaml`` CRDs.

    ``LABWIZ_ACK_CRDS`` when set; else ``crds/`` in the cache (copied by ``build-ack``); else
    the generator's cache of the same release (``labwiz generate --release <version>``).
    """
    explicit = os.environ.get(ENV_CRDS)
    if explicit:
        path = Path(explicit).expanduser()
        if not _has_crds(path):
            raise RealAckError(f"{ENV_CRDS}={explicit} holds no {CRD_GROUP}_*.yaml CRD files",
                               "point it at the controller release's config/crd/bases")
        return path
    for path in (cache_dir(version) / "crds", cache_root().parent / "ack-crds" / version):
        if _has_crds(path):
            return path
    return None


def missing_message(version: str = DEFAULT_VERSION) -> str:
    """Why the real controller cannot run here and what would make it run (one paragraph)."""
    parts = []
    try:
        binary = find_binary(version)
    except RealAckError as exc:
        return exc.message
    if binary is None:
        parts.append(f"no controller binary at {cached_binary(version)} and {ENV_BINARY} is "
                     "unset (`labwiz sandbox build-ack` builds it with Go)")
    try:
        crds = find_crds(version)
    except RealAckError as exc:
        return exc.message
    if crds is None:
        parts.append(f"no CRDs in {cache_dir(version) / 'crds'} and {ENV_CRDS} is unset")
    return "; ".join(parts)


# -- building ----------------------------------------------------------------------------------
@dataclass
class BuildResult:
    """What ``build`` did: the binary, the CRDs, whether it was reused, and the time taken."""

    binary: Path
    crds: Path | None
    reused: bool
    seconds: float
    command: str


def go_binary() -> str:
    """The ``go`` on PATH, or a :class:`RealAckError` saying what is needed."""
    go = shutil.which("go")
    if go is None:
        raise RealAckError(
            "Go is not installed (no `go` on PATH), so the real ACK SageMaker controller cannot "
            f"be built here. It needs Go {GO_NEEDED} or newer (https://go.dev/dl/) and access "
            "to the Go module proxy; then run `labwiz sandbox build-ack` again.",
            f"without Go, `labwiz sandbox up` keeps using the builtin controller; a controller "
            f"binary you already have can be used with {ENV_BINARY}=/path/to/controller "
            f"(and {ENV_CRDS}=/path/to/config/crd/bases).")
    return go


def _proxy_refusal(output: str) -> str | None:
    """The module proxy's answer when the output says it refused the module, else None."""
    for line_no, line in enumerate(output.splitlines()):
        if re.search(r"reading https?://", line) and re.search(r": (4\d\d|5\d\d) ", line):
            lines = output.splitlines()
            answer = line.split(": ")[-1].strip()
            following = lines[line_no + 1].strip() if line_no + 1 < len(lines) else ""
            if following.startswith("server response:"):
                answer += " (" + following.split(":", 1)[1].strip() + ")"
            url = re.search(r"reading (https?://\S+?): \d{3}", line)
            return f"{url.group(1) if url else 'the proxy'} answered {answer}"
    return None


def _env_for_go(version: str) -> dict[str, str]:
    env = dict(os.environ, GOBIN=str(cache_dir(version) / "bin"))
    env.setdefault("GOFLAGS", "-modcacherw")
    return env


def _run_streaming(cmd: list[str], env: dict[str, str], progress: Callable[[str], None],
                   began: float) -> tuple[int, str]:
    """Run ``cmd``, passing each output line to ``progress`` with the time so far."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True, bufsize=1)
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        progress(f"[{time.monotonic() - began:5.0f}s] {line.rstrip()}")
    return proc.wait(), "\n".join(lines)


def _copy_crds(go: str, version: str, env: dict[str, str]) -> Path | None:
    """Copy the module's ``config/crd/bases`` into the cache (``go mod download -json``)."""
    proc = subprocess.run([go, "mod", "download", "-json", f"{MODULE}@{version}"], env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600)
    try:
        source = Path(json.loads(proc.stdout)["Dir"]) / "config" / "crd" / "bases"
    except (ValueError, KeyError, TypeError):
        return None
    if not _has_crds(source):
        return None
    target = cache_dir(version) / "crds"
    tmp = target.with_name("crds.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp)
    for path in tmp.rglob("*"):  # the module cache is read-only; our copy need not be
        path.chmod(0o644 if path.is_file() else 0o755)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def build(version: str = DEFAULT_VERSION, progress: Callable[[str], None] = print,
          force: bool = False) -> BuildResult:
    """Build (or reuse) the controller for ``version``; see the module docstring.

    Raises :class:`RealAckError` when Go is missing, the proxy refuses the module, or the
    build fails, with the command, what went wrong and what to do.
    """
    began = time.monotonic()
    binary = cached_binary(version)
    command = printable_command(version)
    if not force and binary.is_file() and is_controller(binary):
        progress(f"reusing {binary} (already built; --force builds it again)")
        return BuildResult(binary, find_crds(version), True, time.monotonic() - began, command)
    go = go_binary()
    binary.parent.mkdir(parents=True, exist_ok=True)
    env = _env_for_go(version)
    progress(f"building the ACK SageMaker controller {version} with Go: {command}")
    progress("(a cold build downloads the dependencies and compiles about 1,000 packages: "
             "several minutes)")
    code, output = _run_streaming([go, *install_command(version)[1:]], env, progress, began)
    if code != 0:
        refusal = _proxy_refusal(output)
        proxy = env.get("GOPROXY") or _go_env(go, "GOPROXY") or "https://proxy.golang.org"
        if refusal:
            raise RealAckError(
                f"the Go module proxy refused {MODULE}@{version}: {refusal}. "
                f"Command run: `{command}` (GOPROXY={proxy}).",
                f"try another release with `labwiz sandbox build-ack --version vX.Y.Z`, or use "
                f"a controller binary you already have: put it at {binary}, or set "
                f"{ENV_BINARY}=/path/to/controller and {ENV_CRDS}=/path/to/config/crd/bases; "
                f"until then `labwiz sandbox up` uses the builtin controller.")
        tail = "\n".join(output.splitlines()[-15:])
        raise RealAckError(f"`{command}` failed (exit {code}); its output ends:\n{tail}",
                           f"it needs Go {GO_NEEDED} or newer and the module proxy; fix what "
                           "the output says, then run `labwiz sandbox build-ack` again")
    if not is_controller(binary):
        raise RealAckError(f"`{command}` succeeded but {binary} does not answer `--help` "
                           "like the ACK controller", "run `labwiz sandbox build-ack --force`")
    progress("copying the release's CRDs (go mod download -json names its directory)")
    crds = _copy_crds(go, version, env) or find_crds(version)
    return BuildResult(binary, crds, False, time.monotonic() - began, command)


def _go_env(go: str, name: str) -> str:
    """One ``go env`` value ('' when go cannot say)."""
    try:
        return subprocess.run([go, "env", name], capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""
