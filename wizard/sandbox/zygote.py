"""Warm process starts for the sandbox: a zygote imports the heavy modules once, then forks one
child per ``python -m MODULE ARGS`` to run.

A KFP task and a SageMaker job are each a fresh interpreter in the sandbox, and most of their
time went to importing kfp, the kubernetes client or scikit-learn before doing milliseconds of
work. The zygote is a separate, single-threaded process started with the children's environment;
it imports the modules it is told to preload and waits. Each :meth:`Zygote.spawn` sends it a
request (module, arguments, environment, working directory) with the child's stdin, stdout and
stderr as file descriptors; it forks, and the child runs the module as ``python -m`` would
(``runpy`` as ``__main__``, ``sys.argv``, ``sys.path[0]`` the working directory, a fresh
``os.environ``), so the same code runs with the same inputs and outputs, only without paying
for the imports again. The zygote reports each child's pid and, once it has reaped it, its exit
code.

Safety: forking a process that runs threads can deadlock the child (a lock held by a thread that
does not exist in it). The zygote never starts a thread, checks before every fork that it still
has exactly one, and refuses otherwise; a refused or failed spawn returns None and the caller
starts a plain process instead. The caller's process (the sandbox daemon, a run's worker) is
never forked: it is multi-threaded.

Run as ``python -m wizard.sandbox.zygote FD MODULE...`` by :class:`Zygote` only.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

_REPO_ROOT = str(Path(__file__).resolve().parents[2])
_MAX_MESSAGE = 1 << 22


class ZygoteChild:
    """A child the zygote forked: a subset of :class:`subprocess.Popen` (pid, stdin, stdout,
    poll, wait, returncode). Its exit code comes from the zygote, its only parent."""

    def __init__(self, pid: int, reply: socket.socket, stdin: IO | None, stdout: IO | None):
        """Follow the child ``pid`` through ``reply``, the zygote's socket for it."""
        self.pid = pid
        self.stdin, self.stdout = stdin, stdout
        self.returncode: int | None = None
        self._reply = reply
        self._lock = threading.Lock()

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit code; :class:`subprocess.TimeoutExpired` after ``timeout``."""
        with self._lock:
            if self.returncode is not None:
                return self.returncode
            self._reply.settimeout(timeout)
            try:
                data = self._reply.recv(4096)
            except (socket.timeout, BlockingIOError):
                raise subprocess.TimeoutExpired(f"zygote child {self.pid}", timeout) from None
            finally:
                if self.returncode is None:
                    self._reply.settimeout(None)
            try:
                self.returncode = int(json.loads(data)["exit"])
            except (ValueError, KeyError, TypeError):
                # the zygote died before it could reap the child: report it as killed
                self.returncode = -9
            self._reply.close()
            return self.returncode

    def poll(self) -> int | None:
        """The exit code if the child has ended, else None."""
        try:
            return self.wait(timeout=0)
        except subprocess.TimeoutExpired:
            return None


class Zygote:
    """The client side: start the zygote, ask it for children, stop it."""

    def __init__(self, preload: list[str], env: dict[str, str], cwd: str | None = None,
                 log: Path | None = None):
        """A zygote that imports ``preload`` with ``env`` (it must match the children's, since
        libraries read their settings at import); started on the first :meth:`spawn`."""
        self.preload, self.env, self.cwd, self.log = list(preload), dict(env), cwd, log
        self._proc: subprocess.Popen | None = None
        self._control: socket.socket | None = None
        self._lock = threading.Lock()
        self._broken = False

    def start(self) -> None:
        """Start the zygote process (its imports go on in the background)."""
        with self._lock:
            self._start_locked()

    def _start_locked(self) -> None:
        """Start it unless it runs already or could not start before."""
        if self._proc is not None or self._broken:
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(self.env)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_REPO_ROOT, env.get("PYTHONPATH")) if p)
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "wizard.sandbox.zygote", str(theirs.fileno()),
                 *self.preload], env=env, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=out,
                stderr=out, pass_fds=(theirs.fileno(),))
        except OSError:
            self._broken = True
            ours.close()
            return
        finally:
            theirs.close()
            if self.log:
                out.close()
        self._control = ours

    def spawn(self, module: str, args: list[str], env: dict[str, str], cwd: str,
              stdin: int, stdout: int, stderr: int,
              new_session: bool = False) -> ZygoteChild | None:
        """Fork a child running ``python -m module *args``; None if the zygote cannot (the
        caller then starts a plain process). ``stdin``/``stdout``/``stderr`` are descriptors the
        child gets as 0, 1 and 2 (the caller closes its copies)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        request = json.dumps({"module": module, "args": list(args), "env": dict(env),
                              "cwd": cwd, "new_session": new_session}).encode()
        try:
            with self._lock:
                self._start_locked()
                if self._control is None:
                    ours.close()
                    return None
                try:
                    socket.send_fds(self._control, [request],
                                    [theirs.fileno(), stdin, stdout, stderr])
                except OSError as exc:
                    if exc.errno != errno.EMSGSIZE:
                        raise
                    ours.close()  # too big a request for one message: this child only
                    return None
            reply = ours.recv(4096)  # the pid, once the zygote has finished its imports
            pid = int(json.loads(reply)["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            ours.close()
            with self._lock:
                self._broken = True  # a dead or refusing zygote: plain processes from now on
            return None
        finally:
            theirs.close()
        return ZygoteChild(pid, ours, None, None)

    def stop(self, wait: bool = True) -> None:
        """End the zygote (its children, if any still run, are not touched); ``wait=False``
        only closes its control socket, on which it ends by itself, without waiting."""
        with self._lock:
            self._broken = True
            if self._control is not None:
                self._control.close()
                self._control = None
            proc, self._proc = self._proc, None
        if proc is not None and wait:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# ------------------------------------------------------------------------- the zygote process

def _threads() -> int:
    """How many OS threads this process has."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _serve(control: socket.socket) -> None:
    """Fork a child per request until the client closes the control socket."""
    import selectors
    import signal

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    replies: dict[int, socket.socket] = {}
    sel = selectors.DefaultSelector()
    sel.register(control, selectors.EVENT_READ, "control")
    sel.register(wake_r, selectors.EVENT_READ, "child")
    open_control = True
    while open_control or replies:
        for key, _ in sel.select():
            if key.data == "child":
                try:
                    os.read(wake_r, 4096)
                except BlockingIOError:
                    pass
                _reap(replies)
                continue
            try:
                message, fds, _, _ = socket.recv_fds(control, _MAX_MESSAGE, 4)
            except OSError:
                message, fds = b"", []
            if not message:
                sel.unregister(control)
                open_control = False  # the client is gone; report the children still running
                continue
            reply = socket.socket(fileno=fds[0])
            if _threads() != 1:
                reply.send(json.dumps({"error": "the zygote has more than one thread"}).encode())
                reply.close()
                for fd in fds[1:]:
                    os.close(fd)
                continue
            pid = os.fork()
            if pid == 0:
                sel.close()
                os.close(wake_r)
                os.close(wake_w)
                control.close()
                for other in replies.values():
                    other.close()
                _child(json.loads(message), fds[1:], reply)  # never returns
            for fd in fds[1:]:
                os.close(fd)
            replies[pid] = reply
            try:
                reply.send(json.dumps({"pid": pid}).encode())
            except OSError:
                pass
        _reap(replies)


def _reap(replies: dict[int, socket.socket]) -> None:
    """Report the exit code of every child that has ended."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        reply = replies.pop(pid, None)
        if reply is not None:
            try:
                reply.send(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode())
            except OSError:
                pass
            reply.close()


def _child(request: dict, fds: list[int], reply: socket.socket) -> None:
    """In the forked child: become ``python -m module args`` and exit with its code."""
    import io
    import runpy
    import signal

    reply.close()
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL if sig != signal.SIGPIPE else signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if request.get("new_session"):
        os.setsid()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        if fd > 2:
            os.close(fd)
    env = request["env"]
    os.environ.clear()
    os.environ.update(env)
    unbuffered = bool(env.get("PYTHONUNBUFFERED"))

    def stream(fd: int, mode: str, errors: str) -> io.TextIOWrapper:
        """A text stream on ``fd`` as the interpreter makes it at start-up: unbuffered
        output under PYTHONUNBUFFERED, else stderr (and a terminal) line-buffered."""
        raw = io.FileIO(fd, mode, closefd=False)
        if mode == "r":
            return io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8", errors=errors)
        if unbuffered:
            return io.TextIOWrapper(raw, encoding="utf-8", errors=errors, write_through=True)
        return io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", errors=errors,
                                line_buffering=raw.isatty() or fd == 2)

    sys.stdin = sys.__stdin__ = stream(0, "r", "strict")
    sys.stdout = sys.__stdout__ = stream(1, "w", "strict")
    sys.stderr = sys.__stderr__ = stream(2, "w", "backslashreplace")
    os.chdir(request["cwd"])
    sys.path[0] = os.getcwd()  # what `python -m` puts first
    sys.argv = [request["module"], *request["args"]]
    # a fresh `python -m` imports the module it runs as __main__ only; a preloaded copy under
    # its own name would make runpy warn, and the fresh interpreter has none either
    sys.modules.pop(request["module"], None)
    if "numpy" in sys.modules:  # numpy's global generator is not reseeded by a fork
        sys.modules["numpy"].random.seed()
    code = 0
    try:
        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except KeyboardInterrupt:
        code = 130
    except BaseException:  # noqa: BLE001 - as the interpreter does: traceback, exit code 1
        import traceback

        kind, value, trace = sys.exc_info()
        traceback.print_exception(kind, value, trace.tb_next if trace else None)  # not ours
        code = 1
    try:
        threading._shutdown()  # type: ignore[attr-defined]  # join non-daemon threads, as at exit
        import atexit

        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _exit_code(value: object) -> int:
    """The process exit code ``sys.exit(value)`` gives."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    """``python -m wizard.sandbox.zygote FD MODULE...``: preload, then serve."""
    import importlib

    control = socket.socket(fileno=int(argv[0]))
    for module in argv[1:]:
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - a missing preload only costs speed
            print(f"zygote: could not preload {module}: {exc}", file=sys.stderr)
    _serve(control)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
