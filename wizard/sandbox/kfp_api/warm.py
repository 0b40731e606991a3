"""Warm starts for lightweight components: the executor call of a task, run by a zygote.

A lightweight Python component's command (after the pip preamble, which :mod:`.pipcheck` drops
when its packages are installed) is a shell script that writes the function's source to
``$(mktemp -d)/ephemeral_component.py`` and runs
``_KFP_RUNTIME=true python3 -m kfp.dsl.executor_main --component_module_path <that file> ARGS``.
When a task's command is exactly that script, the run's worker does the two shell steps itself
(a private temporary folder under ``$TMPDIR``, the source written byte for byte) and asks a
:class:`~wizard.sandbox.zygote.Zygote`, which has kfp's runtime and the kubernetes client
imported already, to fork ``python -m kfp.dsl.executor_main`` with the same arguments and
environment. Any other command runs as before, through ``sh``.

``LABWIZ_SANDBOX_WARM=0`` turns warm starts off (every task is a fresh interpreter again).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from wizard.sandbox.zygote import Zygote, ZygoteChild

WARM_ENV = "LABWIZ_SANDBOX_WARM"
EXECUTOR_MODULE = "kfp.dsl.executor_main"
#: what ``python -m kfp.dsl.executor_main`` imports before it runs (under _KFP_RUNTIME=true),
#: and the kubernetes client the ACK components import first thing
PRELOAD = ["kfp", "kfp.dsl", "kfp.dsl.executor", "kfp.dsl.kfp_config", "kfp.dsl.utils",
           "kubernetes.client", "kubernetes.config", "kubernetes.client.exceptions"]
_SCRIPT = ('program_path=$(mktemp -d) printf "%s" "$0" > "$program_path/ephemeral_component.py" '
           '_KFP_RUNTIME=true {python} -m kfp.dsl.executor_main --component_module_path '
           '"$program_path/ephemeral_component.py" "$@"')


def enabled() -> bool:
    """Whether warm starts are on (the default)."""
    return os.environ.get(WARM_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def executor_call(command: list[str], python: str = sys.executable) -> tuple[str, list[str]] | None:
    """``(component source, executor arguments)`` when ``command`` is kfp's executor script
    (with the python swap done and the pip preamble dropped), else None."""
    if command[:3] == ["sh", "-c", '"$0" "$@"']:
        command = command[3:]
    if len(command) < 4 or command[:2] != ["sh", "-ec"]:
        return None
    if " ".join(command[2].split()) != _SCRIPT.format(python=python):
        return None
    return command[3], list(command[4:])


def start_zygote(log: Path) -> Zygote | None:
    """A zygote for this run's tasks, importing in the background; None when turned off."""
    if not enabled():
        return None
    zygote = Zygote(PRELOAD, env={**os.environ, "_KFP_RUNTIME": "true"}, cwd=os.getcwd(),
                    log=log)
    zygote.start()
    return zygote


def spawn_executor(zygote: Zygote, source: str, args: list[str], log_fd: int) -> ZygoteChild | None:
    """Do what the executor script does, forking the python step from ``zygote``; None when the
    zygote cannot (the caller runs the script instead)."""
    program_path = tempfile.mkdtemp(dir=os.environ.get("TMPDIR") or "/tmp")
    module_path = Path(program_path) / "ephemeral_component.py"
    module_path.write_bytes(source.encode())  # printf "%s" "$0": the argument's bytes, as is
    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        return zygote.spawn(EXECUTOR_MODULE, ["--component_module_path", str(module_path), *args],
                            env={**os.environ, "_KFP_RUNTIME": "true"}, cwd=os.getcwd(),
                            stdin=devnull, stdout=log_fd, stderr=log_fd)
    finally:
        os.close(devnull)
