"""Helpers shared by the TUI tests."""

from __future__ import annotations

import asyncio


async def wait_for(pilot, condition, timeout: float = 120.0) -> None:
    """Let the app run until ``condition()`` holds; fail with a clear message after ``timeout``.

    A widget the condition queries that is not mounted yet (the main screen's tabs are filled
    just after the first frame) counts as the condition not holding yet.
    """
    from textual.css.query import NoMatches

    def holds() -> bool:
        """``condition()``, false while what it queries is not mounted."""
        try:
            return bool(condition())
        except NoMatches:
            return False

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not holds():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {condition.__doc__ or condition}")
        await pilot.pause(0.05)


async def click(pilot, selector, offset: tuple[int, int] = (0, 0), timeout: float = 120.0) -> None:
    """Click ``selector`` on the top screen once it is laid out, as a person clicks what is
    drawn; fail if something else was under the pointer.

    A screen is on the stack and mounted a moment before its layout gives its widgets a place
    on the screen; a click in that moment lands on whatever was there (seen on a loaded
    machine: a dialog's button clicked before its layout, the click lost, the dialog left open).
    """
    def laid_out() -> bool:
        """The widget has a place on the screen."""
        return pilot.app.screen.query_one(selector).region.area > 0

    laid_out.__doc__ = f"{selector} laid out on the top screen"
    await wait_for(pilot, laid_out, timeout)
    assert await pilot.click(selector, offset=offset), f"the click missed {selector}"


def dialog_up(app, dialog_class) -> bool:
    """Whether the top screen is a ``dialog_class`` whose widgets are mounted (a dialog is on
    the screen stack as soon as it is pushed, and composed and mounted a little later)."""
    return isinstance(app.screen, dialog_class) and app.screen.is_mounted


class Tmux:
    """A real terminal: a detached tmux session running one command, read with capture-pane."""

    def __init__(self, name: str, command: str, width: int = 100, height: int = 30) -> None:
        """Start the session."""
        import subprocess

        self.name = name
        # a private server (own socket, no user config) so other tmux users cannot change its options
        self.tmux = ["tmux", "-L", f"labwiz-{name}", "-f", "/dev/null"]
        self.run = subprocess.run
        self.run([*self.tmux, "new-session", "-d", "-s", name, "-x", str(width), "-y", str(height),
                  command], check=True)

    def screen(self, escapes: bool = False) -> str:
        """The visible screen (with colour escape sequences when ``escapes``)."""
        args = [*self.tmux, "capture-pane", "-p", "-t", self.name] + (["-e"] if escapes else [])
        return self.run(args, capture_output=True, text=True).stdout

    def keys(self, *keys: str) -> None:
        """Type keys (tmux key names: Enter, Escape, C-c...)."""
        self.run([*self.tmux, "send-keys", "-t", self.name, *keys], check=True)

    def option(self, name: str, value: str) -> None:
        """Set a server option (e.g. ``set-clipboard on``, which makes OSC 52 fill tmux's buffer)."""
        self.run([*self.tmux, "set-option", "-s", name, value], check=True)

    def buffer(self) -> str | None:
        """tmux's newest paste buffer (what an OSC 52 copy put there), or None when there is none."""
        result = self.run([*self.tmux, "show-buffer"], capture_output=True, text=True)
        return result.stdout if result.returncode == 0 else None

    def resize(self, width: int, height: int) -> None:
        """Resize the window as a user dragging the terminal would."""
        self.run([*self.tmux, "resize-window", "-t", self.name, "-x", str(width), "-y", str(height)],
                 check=True)

    def wait_for(self, text: str, timeout: float = 120.0) -> str:
        """Poll the screen until ``text`` shows; return the screen (fail after ``timeout``)."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} did not appear; the screen was:\n{screen}")
            time.sleep(0.1)

    def close(self) -> None:
        """End the session (and the process in it)."""
        self.run([*self.tmux, "kill-server"], capture_output=True)


def labwiz_command(state_dir, workdir, *args: str, env: dict | None = None, rc_file=None) -> str:
    """A shell command that runs ``labwiz`` with the TUI test steps like a JupyterLab terminal does
    (``TERM=xterm-256color`` and no ``COLORTERM``), recording its exit code in ``rc_file``."""
    import shlex
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    values = {"TERM": "xterm-256color", "LABWIZ_STEPS": "tests.tui.tui_steps:STEPS",
              "LABWIZ_TEST_WORKDIR": str(workdir), "PYTHONPATH": str(root),
              "MOTO_IAM_LOAD_MANAGED_POLICIES": "true", **(env or {})}
    assigns = " ".join(f"{k}={shlex.quote(v)}" for k, v in values.items())
    argv = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "wizard", "--state-dir",
                                             str(state_dir), *args])
    line = f"cd {shlex.quote(str(root))} && env -u COLORTERM -u COLUMNS -u LINES {assigns} {argv}"
    if rc_file is not None:
        line += f"; echo $? > {shlex.quote(str(rc_file))}; sleep 5"
    return line


def static_text(widget, width: int = 200) -> str:
    """What a Static shows, as plain text (markup and Rich renderables rendered)."""
    import io

    from rich.console import Console
    from rich.text import Text

    content = widget.content
    if isinstance(content, str):
        content = Text.from_markup(content)
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(content)
    return console.export_text()
