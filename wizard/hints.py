"""Hints that name a labwiz command carry the flags of the run they are printed in.

A hint written in a step ("run 'labwiz run --only cleanup' again") cannot know that the learner
ran ``labwiz --state-dir /tmp/lab run --sandbox``; printed as written, it would act on another
lab (the default state directory) or leave the sandbox. :func:`carry` rewrites every ``labwiz``
command in a hint with the options of the run's own resume command: the global ones (such as
``--state-dir``) after ``labwiz``, and for ``labwiz run`` the run's flags (``--sandbox``,
``--region``, ``--answers``, ``--yes``), each unless the hint already gives it.
"""

from __future__ import annotations

import re
import shlex

#: ``labwiz`` followed by its subcommand (a lower-case word), in a hint's prose
_COMMANDS = ("run", "doctor", "bundle", "status", "reset", "steps", "inspect", "demo",
             "terminate", "sandbox", "generate")
_MENTION = re.compile(r"\blabwiz((?: --?[\w-]+(?: (?!-)[^\s'\"),;]+)?)*) ("
                      + "|".join(_COMMANDS) + r")\b")
#: options of ``labwiz run`` that choose steps: they belong to the hint, not to the run
_STEP_CHOICES = ("--only", "--skip", "--from")


def flags_of(resume_command: str) -> tuple[list[str], list[str]]:
    """The global options and the ``run`` flags of a resume command (``labwiz [G] run [F]``),
    without the step choices (``--only``, ``--skip``)."""
    try:
        words = shlex.split(resume_command or "")
    except ValueError:
        return [], []
    if not words or words[0] != "labwiz" or "run" not in words:
        return [], []
    at = words.index("run")
    flags, rest = [], words[at + 1:]
    i = 0
    while i < len(rest):
        if rest[i] in _STEP_CHOICES:
            i += 2
            continue
        flags.append(rest[i])
        i += 1
    return words[1:at], flags


def _options(words: list[str]) -> list[list[str]]:
    """Options as groups: ``--state-dir X`` and ``--sandbox`` each one group."""
    groups: list[list[str]] = []
    for word in words:
        if word.startswith("-") or not groups:
            groups.append([word])
        else:
            groups[-1].append(word)
    return groups


def carry(text: str, resume_command: str) -> str:
    """``text`` with each ``labwiz <command>`` it names given the run's options (see module)."""
    global_opts, run_flags = flags_of(resume_command)
    if not text or not (global_opts or run_flags):
        return text

    def rewrite(match: re.Match) -> str:
        given, sub = match.group(1), match.group(2)
        tail = text[match.end():match.end() + 200]
        head = [" ".join(shlex.quote(w) for w in g) for g in _options(global_opts)
                if g[0] not in given]
        out = "labwiz" + given + "".join(" " + h for h in head) + " " + sub
        if sub == "run":
            present = tail.split("'")[0]
            out += "".join(" " + " ".join(shlex.quote(w) for w in g) for g in _options(run_flags)
                           if g[0] not in present)
        return out

    return _MENTION.sub(rewrite, text)
