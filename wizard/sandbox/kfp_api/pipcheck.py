"""Skipping a lightweight component's ``pip install`` when its packages are already installed.

In a real cluster the preamble installs the component's packages into a fresh container. The
sandbox runs components in labwiz's own environment, where the pinned packages are already
present, so pip would only re-confirm them, at a cost of seconds per task. When every requirement
of the preamble is satisfied here, the preamble is dropped, as an image with those packages
baked in would behave; otherwise the command runs unchanged (and pip reports what is missing).
"""

from __future__ import annotations

import re

_PIP_LINE = re.compile(r"python3 -m pip install ([^&]*)")
_QUOTED = re.compile(r"'([^']*)'")


def _satisfied(requirement: str) -> bool:
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import InvalidRequirement, Requirement

    if requirement.startswith("-"):
        return True  # an option such as --no-deps, not a package
    try:
        req = Requirement(requirement)
    except InvalidRequirement:
        return False
    if req.marker is not None and not req.marker.evaluate():
        return True  # not needed on this Python
    try:
        installed = version(req.name)
    except PackageNotFoundError:
        return False
    return req.specifier.contains(installed, prereleases=True)


def strip_satisfied_pip(command: list[str]) -> tuple[list[str], bool]:
    """``command`` without its pip preamble when every package is installed; and whether it was."""
    if len(command) < 3 or command[:2] != ["sh", "-c"] or "pip install" not in command[2]:
        return command, False
    script = command[2]
    requirements = [r for line in _PIP_LINE.findall(script) for r in _QUOTED.findall(line)]
    if not requirements or not script.rstrip().endswith('"$0" "$@"'):
        return command, False
    if not all(_satisfied(r) for r in requirements):
        return command, False
    return ["sh", "-c", '"$0" "$@"', *command[3:]], True
