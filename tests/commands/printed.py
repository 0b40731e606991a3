"""Run the commands the wizard prints, as printed, and tell usage failures from state failures.

A printed command must be valid for the real CLI it names: a usage failure (an unknown option, a
missing argument, a file that does not exist, an argument the CLI refuses before calling any
service) is the wizard's bug. A command may still fail because of the state it meets (a role
already deleted by cleanup, a placeholder name that does not exist): that is not a usage failure.

:func:`commands_of_script` reads ``<state>/commands/STEP.sh``; :func:`commands_of_explain` reads
``labwiz run --explain`` output; :func:`run_printed` runs one line with ``bash -c`` and
:func:`classify` names what happened; :func:`run_all` runs a list of them in order, a line
printed again word for word once.
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

#: the real CLIs the issue holds the wizard to
CHECKED_TOOLS = ("aws", "kubectl", "kfp")
#: exit codes that only mean "wrong usage": argparse/click (2) and aws CLI v2 (252)
USAGE_CODES = (2, 252)
#: what the CLIs say when the command line itself is wrong
USAGE_PATTERNS = re.compile("|".join([
    r"^usage:",                                   # aws (argparse), kfp (click)
    r"Unknown options:",                          # aws
    r"Parameter validation failed",               # aws: refused before any call
    r"The user-provided path .* does not exist",  # aws s3 cp of a missing file
    r"No such file or directory",                 # any missing local file
    r"No such option",                            # click (kfp)
    r"No such command",                           # click (kfp)
    r"Missing argument",                          # click (kfp)
    r"Got unexpected extra argument",             # click (kfp)
    r"Invalid value for",                         # click (kfp)
    r"Invalid argument format",                   # kfp run create key=value
    r"unknown flag:",                             # kubectl
    r"unknown shorthand flag",                    # kubectl
    r"unknown command",                           # kubectl
    r"required flag\(s\)",                        # kubectl
    r"error: exactly one NAME is required",       # kubectl
    r"Unsupported output file type",              # kfp dsl compile .tar.gz
    r"must end with",                             # kfp compile output suffix
]), re.MULTILINE)


@dataclass
class Outcome:
    """One printed command, run."""

    line: str
    source: str
    returncode: int | None          # None: still running at the time limit (killed)
    output: str
    seconds: float = 0.0
    #: the line was printed earlier too, word for word; this is that run's outcome
    reused: bool = False

    @property
    def tool(self) -> str:
        """The program the line runs."""
        return self.line.split(None, 1)[0] if self.line.strip() else ""

    @property
    def usage_error(self) -> bool:
        """Whether the failure is the command line's own fault (see the module docstring)."""
        if self.returncode in (0, None):
            return False
        return self.returncode in USAGE_CODES or bool(USAGE_PATTERNS.search(self.output))

    def describe(self) -> str:
        """The command, where it was printed, and how it ended (for assertion messages)."""
        tail = "\n".join(self.output.strip().splitlines()[-6:])
        return (f"[{self.source}] exit {self.returncode} after {self.seconds:.1f} s: "
                f"{self.line[:300]}\n{tail}")


def _join_heredocs(lines: list[str]) -> list[str]:
    """Commands from lines, a ``<<'EOF'`` command taking the lines up to ``EOF`` with it."""
    out: list[str] = []
    pending: list[str] | None = None
    for line in lines:
        if pending is not None:
            pending.append(line)
            if line.strip() == "EOF":
                out.append("\n".join(pending))
                pending = None
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("<<'EOF'"):
            pending = [line]
        else:
            out.append(line)
    return out


def commands_of_script(path: Path) -> list[str]:
    """The commands of a ``commands/STEP.sh`` file (notes left out)."""
    return _join_heredocs(path.read_text(encoding="utf-8").splitlines())


def commands_of_explain(stdout: str) -> list[str]:
    """The commands of ``labwiz run --explain`` output: ``$ `` lines and their heredoc lines."""
    lines: list[str] = []
    inside = False
    for raw in stdout.splitlines():
        if raw.startswith("$ "):
            lines.append(raw[2:])
            inside = raw.rstrip().endswith("<<'EOF'")
        elif inside and raw.startswith("  "):
            lines.append(raw[2:])
            inside = raw.strip() != "EOF"
    return _join_heredocs(lines)


def explain_sections(stdout: str) -> dict[str, list[str]]:
    """``--explain`` output's commands by step id (its ``# step-id: summary`` headers)."""
    sections: dict[str, list[str]] = {}
    current, lines = None, []
    for raw in stdout.splitlines() + ["# end: "]:
        if raw.startswith("# ") and ":" in raw:
            if current:
                sections[current] = commands_of_explain("\n".join(lines))
            current, lines = raw[2:].split(":", 1)[0], []
        else:
            lines.append(raw)
    return sections


#: the kfp CLI's options that come before its noun, with a value
_KFP_GLOBAL = ("--endpoint", "--namespace", "-n", "--existing-token", "--output")


def verb(line: str) -> str:
    """What a command does, without its values: ``aws iam create-role``, ``kfp pipeline create``,
    ``kubectl apply``."""
    words = line.split("<<", 1)[0].split()
    out, skip = [], False
    for word in words:
        if skip:
            skip = False
            continue
        if words[0] == "kfp" and word in _KFP_GLOBAL:
            skip = True
            continue
        if word.startswith("-"):
            break
        out.append(word)
    return " ".join(out[:3])


def checked(lines: list[str]) -> list[str]:
    """The lines that run one of :data:`CHECKED_TOOLS`."""
    return [line for line in lines if line.split(None, 1)[0] in CHECKED_TOOLS]


def run_printed(line: str, source: str, *, env: dict, cwd: Path, timeout: float = 60) -> Outcome:
    """Run ``line`` exactly as printed with ``bash -c``; a command still running at ``timeout``
    (a wait, a port-forward) is stopped and counted as started, not as a usage failure."""
    started = time.monotonic()
    try:
        done = subprocess.run(["bash", "-c", line], env=env, cwd=cwd, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return Outcome(line, source, None, output, time.monotonic() - started)
    return Outcome(line, source, done.returncode, done.stdout + done.stderr,
                   time.monotonic() - started)


def run_all(lines: list[str], source: str, *, env: dict, cwd: Path, timeout: float = 60,
            ran: dict[str, Outcome] | None = None) -> list[Outcome]:
    """Every line run as printed, one after another, in order; their outcomes.

    ``ran`` (line -> outcome, filled in as lines run) carries what earlier calls ran: a line
    printed again word for word (``--explain`` repeats most of the scripts' commands) is not
    run a second time. The real CLI already ran exactly that command line; its outcome stands
    for the repeat, under this ``source`` and marked ``reused``. (Running the reads between
    two writes at once was tried: on two busy cores it took longer, 160 s against 153 s.)"""
    ran = {} if ran is None else ran
    outcomes = []
    for line in lines:
        if line in ran:
            outcomes.append(replace(ran[line], source=source, reused=True))
            continue
        ran[line] = run_printed(line, source, env=env, cwd=cwd, timeout=timeout)
        outcomes.append(ran[line])
    return outcomes
