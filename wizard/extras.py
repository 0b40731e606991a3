"""Optional parts of labwiz and what to install for them.

``pip install labwiz`` is the wizard for real AWS. The offline sandbox runs engines that a real
lab never needs (moto's AWS server with flask and werkzeug, scikit-learn for the SageMaker
compute, numpy, jsonschema/jsonpatch for the Kubernetes API); they come with the ``sandbox``
extra, ``pip install 'labwiz[sandbox]'``.

"Not installed" and "installed but broken" are told apart on purpose: an engine that is absent
(no module spec at all) gets a message naming the command that installs it; an engine that is
present but fails to import is left to raise its own ImportError, which the CLI reports as the
unexpected failure it is, never as "not available".
"""

from __future__ import annotations

import importlib.util

from wizard.errors import EnvironmentProblem

#: the sandbox's engines: importable top-level module -> the requirement that provides it
SANDBOX_ENGINES: dict[str, str] = {
    "moto": "moto[server]",
    "flask": "flask (with moto[server])",
    "werkzeug": "werkzeug (with moto[server])",
    "sklearn": "scikit-learn",
    "numpy": "numpy",
    "jsonschema": "jsonschema",
    "jsonpatch": "jsonpatch",
    "jsonpointer": "jsonpointer",
}

#: how to get them, for people who installed with pip, with pipx, or from a clone
SANDBOX_INSTALL = ("pip install 'labwiz[sandbox]'  (with pipx: pipx install --force "
                   "'labwiz[sandbox]'; in a clone of labwiz: make demo)")


def missing(modules: dict[str, str]) -> list[str]:
    """The requirements of ``modules`` whose top-level module is not installed at all.

    Uses module specs, so nothing is imported here (a broken package is not "missing")."""
    absent = []
    for module, requirement in modules.items():
        try:
            spec = importlib.util.find_spec(module)
        except ValueError:  # a module whose __spec__ is None: present, if odd
            spec = True
        if spec is None:
            absent.append(requirement)
    return absent


def sandbox_missing() -> list[str]:
    """The sandbox's engines that this installation lacks (empty: the sandbox can start)."""
    return missing(SANDBOX_ENGINES)


def require_sandbox() -> None:
    """Raise :class:`SandboxNotInstalled` unless every sandbox engine is installed."""
    absent = sandbox_missing()
    if absent:
        raise SandboxNotInstalled(absent)


class SandboxNotInstalled(EnvironmentProblem):
    """The offline sandbox was asked for, and this installation has not got its engines."""

    def __init__(self, absent: list[str]):
        """``absent``: the requirements that are not installed."""
        super().__init__(
            "The offline sandbox is not installed: this labwiz is the lean install for real "
            f"AWS, without the sandbox's engines ({', '.join(absent)}).",
            remediation=f"Install them with: {SANDBOX_INSTALL}. Without --sandbox, labwiz "
                        "runs the lab against real AWS.")
        self.absent = absent
