"""The core and the steps never import a front-end library (textual, inquirer)."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRONT_ENDS = ("textual", "inquirer")


def _core_files():
    for base in ("wizard", "steps"):
        for path in (ROOT / base).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith("wizard/tui/") or rel.startswith("wizard/plain"):
                continue
            yield path


def test_no_front_end_import_in_core_source():
    offenders = []
    for path in _core_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in FRONT_ENDS:
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert not offenders, offenders


def test_importing_core_loads_no_front_end():
    modules = sorted({
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in _core_files() if p.name != "__main__.py"
    })
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FRONT_ENDS!r}]\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "", f"front-end modules loaded: {result.stdout}"


# -- the lean install: the real path never needs the sandbox's engines ---------------------------
from wizard.extras import SANDBOX_ENGINES  # noqa: E402 - grouped with the tests that use it

ENGINES = tuple(SANDBOX_ENGINES)


def _real_path_files():
    """Every module of the wizard and the steps that a real-AWS user runs (not the sandbox)."""
    for base in ("wizard", "steps"):
        for path in (ROOT / base).rglob("*.py"):
            if not path.relative_to(ROOT).as_posix().startswith("wizard/sandbox/"):
                yield path


def test_no_engine_import_outside_the_sandbox_source():
    """Not even a lazy import: only wizard/sandbox/ imports moto, scikit-learn, flask..."""
    offenders = []
    for path in _real_path_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno}: {name}" for name in names
                          if name.split(".")[0] in ENGINES]
    assert not offenders, offenders


def test_importing_the_real_path_loads_no_sandbox_engine():
    """Every real-path module, the TUI's included, imports without moto, sklearn, flask, ..."""
    modules = sorted({
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in _real_path_files() if p.name != "__main__.py"
    })
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "from wizard.cli import cli\n"
        "from click.testing import CliRunner\n"
        "assert CliRunner().invoke(cli, ['steps']).exit_code == 0\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {ENGINES!r})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "", f"sandbox engines loaded: {result.stdout}"


#: runs the CLI as if the sandbox's engines were not installed: their specs are not found and
#: importing one fails, as in a lean install
_WITHOUT_ENGINES = """
import importlib.abc, importlib.util, sys
HIDDEN = {hidden!r}
real_find_spec = importlib.util.find_spec
def find_spec(name, package=None):
    return None if name.split(".")[0] in HIDDEN else real_find_spec(name, package)
importlib.util.find_spec = find_spec
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Hide())
from wizard.cli import main
sys.exit(main({argv!r}))
"""


def _run_without_engines(argv: list[str], tmp_path) -> subprocess.CompletedProcess:
    code = _WITHOUT_ENGINES.format(hidden=("moto", "sklearn", "flask"), argv=argv)
    env = labwiz_env()
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)


def test_sandbox_without_the_extra_says_what_to_install(tmp_path):
    state = str(tmp_path / "state")
    for argv in (["--state-dir", state, "run", "--sandbox", "--yes"],
                 ["--state-dir", state, "sandbox", "up"]):
        result = _run_without_engines(argv, tmp_path)
        err = result.stderr
        assert result.returncode == 5, (argv, result.returncode, err[-2000:])  # README: 5
        assert "pip install 'labwiz[sandbox]'" in err, err
        assert "moto[server]" in err and "scikit-learn" in err and "flask" in err, err
        assert "Traceback" not in err, err
    assert not (tmp_path / "state" / "sandbox" / "daemon.log").exists()


def test_real_path_commands_run_without_the_engines(tmp_path):
    result = _run_without_engines(["--state-dir", str(tmp_path / "s"), "steps"], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "credentials" in result.stdout


def test_a_broken_lazy_command_surfaces_its_import_error(monkeypatch):
    """A dependency that fails to import is a broken install, not 'not available'."""
    import importlib

    import pytest

    from wizard import cli

    real_import = importlib.import_module

    def broken(name, *args):
        if name == "wizard.doctor.cli":
            raise ImportError("cannot import name 'x' from 'kubernetes' (a broken install)")
        return real_import(name, *args)

    monkeypatch.setattr(importlib, "import_module", broken)
    with pytest.raises(ImportError, match="broken install"):
        cli.cli.get_command(None, "doctor")


def labwiz_env() -> dict:
    """A labwiz subprocess's environment: this checkout first, no host AWS/LABWIZ settings."""
    import os

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LABWIZ_", "AWS_", "KUBECONFIG"))}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["NO_COLOR"] = "1"
    return env


def _norm(name: str) -> str:
    """A distribution's name as packaging normalises it (PEP 503)."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(requirements: list[str]) -> set[str]:
    """The normalised names of ``requirements`` and of everything they require, as installed
    (extras-only and marker-excluded requirements left out)."""
    import importlib.metadata as md

    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        name = _norm(req.name)
        if name in seen or (req.marker and not req.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        try:
            todo += [Requirement(r) for r in md.requires(req.name) or []]
        except md.PackageNotFoundError:
            pass
    return seen


def test_every_third_party_import_is_declared():
    """Each library the wizard, the steps or the assets import (lazily too) comes with the
    install that runs that code: the base dependencies for the real path, the sandbox extra for
    wizard/sandbox/ (a module only the test extra brought in, `packaging` once, broke
    `make demo`'s pipeline tasks in a fresh clone)."""
    import importlib.metadata as md
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = _closure(project["dependencies"])
    sandbox = base | _closure(project["optional-dependencies"]["sandbox"])
    owners = md.packages_distributions()
    missing = []
    for top in ("wizard", "steps", "assets"):
        for path in (ROOT / top).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith("assets/scripts/"):
                continue  # runs in the SageMaker processing job's image, not in labwiz
            allowed = sandbox if rel.startswith("wizard/sandbox/") else base
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    first = name.split(".")[0]
                    if first in sys.stdlib_module_names or first in ("wizard", "steps", "assets",
                                                                     "tests"):
                        continue
                    dists = {_norm(d) for d in owners.get(first, [])}
                    if not dists & allowed:
                        missing.append(f"{rel}:{node.lineno}: {name} ({', '.join(dists) or '?'})")
    assert not missing, "imports no declared dependency brings:\n" + "\n".join(missing)
