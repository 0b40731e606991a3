"""The zygote forks children that behave as `python -m MODULE ARGS` would, and refuses to fork
when that would not be safe; lightweight components' executor scripts are recognised."""

from __future__ import annotations

import os
import sys
import textwrap

import pytest

from wizard.sandbox.kfp_api.warm import executor_call
from wizard.sandbox.zygote import Zygote

ECHO = textwrap.dedent("""
    import os, sys
    data = sys.stdin.read()
    print(f"argv={sys.argv[1:]} cwd={os.getcwd()} env={os.environ.get('ZT')} stdin={data} "
          f"name={__name__} session={os.getsid(0) == os.getpid()}")
    print("to stderr", file=sys.stderr)
    if sys.argv[1:2] == ["fail"]:
        raise ValueError("boom")
    if sys.argv[1:2] == ["exit"]:
        sys.exit(int(sys.argv[2]))
""")
THREADED = "import threading, time\nthreading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"


@pytest.fixture
def modules(tmp_path):
    """A folder with the test modules, and the environment that finds them."""
    (tmp_path / "zt_echo.py").write_text(ECHO)
    (tmp_path / "zt_threaded.py").write_text(THREADED)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path]),
           "PYTHONUNBUFFERED": "1"}
    return tmp_path, env


def _run(zygote, tmp_path, env, args, new_session=False):
    """Spawn zt_echo with ``args`` and "hello" on stdin; (exit code, output) or None."""
    out = tmp_path / "out.txt"
    read, write = os.pipe()
    os.write(write, b"hello")
    os.close(write)
    with open(out, "wb") as sink:
        child = zygote.spawn("zt_echo", args, {**env, "ZT": "yes"}, str(tmp_path), read,
                             sink.fileno(), sink.fileno(), new_session=new_session)
    os.close(read)
    if child is None:
        return None
    return child.wait(timeout=60), out.read_text()


def test_children_run_the_module_as_python_m_would(modules):
    """Arguments, environment, working directory, stdin, __main__ and exit codes as with -m."""
    tmp_path, env = modules
    zygote = Zygote(["json", "zt_echo"], env=env, cwd=str(tmp_path))
    try:
        code, out = _run(zygote, tmp_path, env, ["a", "b"])
        assert code == 0
        assert (f"argv=['a', 'b'] cwd={tmp_path} env=yes stdin=hello name=__main__ "
                "session=False") in out and "to stderr" in out
        # a preloaded module is still run afresh as __main__, without runpy's warning
        assert "RuntimeWarning" not in out
        code, out = _run(zygote, tmp_path, env, ["fail"])
        assert code == 1 and "ValueError: boom" in out and "zygote.py" not in out
        assert _run(zygote, tmp_path, env, ["exit", "3"])[0] == 3
        assert "session=True" in _run(zygote, tmp_path, env, ["x"], new_session=True)[1]
    finally:
        zygote.stop()


def test_a_zygote_with_threads_refuses_to_fork(modules):
    """Forking a multi-threaded process is unsafe: the spawn says no and the caller falls back."""
    tmp_path, env = modules
    zygote = Zygote(["zt_threaded"], env=env, cwd=str(tmp_path))
    try:
        assert _run(zygote, tmp_path, env, ["a"]) is None
        assert _run(zygote, tmp_path, env, ["a"]) is None  # and stays refused
    finally:
        zygote.stop()


def test_a_dead_zygote_means_plain_processes(modules):
    """A zygote that has gone (killed, crashed) makes spawn return None, never hang."""
    tmp_path, env = modules
    zygote = Zygote(["json"], env=env, cwd=str(tmp_path))
    zygote.start()
    zygote._proc.kill()
    zygote._proc.wait()
    try:
        assert _run(zygote, tmp_path, env, ["a"]) is None
    finally:
        zygote.stop()


def test_the_executor_script_of_a_compiled_component_is_recognised():
    """kfp's own command for a lightweight component, as the run's worker sees it, is the
    script :mod:`wizard.sandbox.kfp_api.warm` reproduces; a changed script is not."""
    from tests.kfp_api.kfp_pipelines import add
    from wizard.sandbox.kfp_api.dag import local_command

    container = add.component_spec.implementation.container
    command = [*container.command, *container.args]
    command, skipped = local_command(command)
    assert skipped  # kfp is installed here: no pip preamble (whatever the python is called)
    call = executor_call(command)
    assert call is not None, command
    source, args = call
    assert "def add(a: int, b: int) -> int:" in source
    assert args[:1] == ["--executor_input"] and "--function_to_execute" in args
    changed = [part.replace("mktemp -d", "mktemp -d -p /var/tmp") for part in command]
    assert executor_call(changed) is None


@pytest.mark.parametrize("warm", [True, False])
def test_compute_workers_answer_the_same_forked_or_fresh(tmp_path, warm):
    """A SageMaker compute worker forked from the pool's zygote reports exactly what a fresh
    interpreter reports, and runs in its own session (a stop kills its whole group)."""
    import threading

    from wizard.sandbox.compute.supervisor import WorkerPool

    pool = WorkerPool(1, warm=warm)
    try:
        final = pool.run({"kind": "no-such-kind"}, lambda event: None, threading.Event(),
                         tmp_path / "worker.log")
        assert (pool._zygote is not None) == warm
        if warm:
            assert not pool._zygote._broken  # it did fork, not fall back
    finally:
        pool.shutdown()
    assert final == {"event": "failed", "reason": "InternalServerError: the sandbox's worker "
                     "failed: ValueError: unknown task kind 'no-such-kind'"}
    assert "ValueError: unknown task kind" in (tmp_path / "worker.log").read_text()


def test_a_request_too_big_for_one_message_falls_back_for_that_child_only(modules):
    """An environment larger than a socket message: that child starts the plain way (None),
    the next one still forks."""
    tmp_path, env = modules
    zygote = Zygote(["json"], env=env, cwd=str(tmp_path))
    try:
        assert _run(zygote, tmp_path, {**env, "HUGE": "x" * (8 << 20)}, ["a"]) is None
        code, out = _run(zygote, tmp_path, env, ["b"])
        assert code == 0 and "argv=['b']" in out
    finally:
        zygote.stop()


def test_a_stop_without_waiting_still_ends_the_zygote(modules):
    """stop(wait=False) (the run's worker, about to exit) only closes the control socket; the
    zygote ends by itself on that, and spawning afterwards gives plain processes."""
    tmp_path, env = modules
    zygote = Zygote(["json"], env=env, cwd=str(tmp_path))
    zygote.start()
    proc = zygote._proc
    assert _run(zygote, tmp_path, env, ["a"])[0] == 0
    zygote.stop(wait=False)
    assert proc.wait(timeout=60) == 0  # a bound for a slow machine, not a pace
    assert _run(zygote, tmp_path, env, ["a"]) is None
