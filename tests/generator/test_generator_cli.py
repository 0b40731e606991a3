"""The generate command as a learner runs it: python -m wizard.generator in a real process."""
from __future__ import annotations

import os
import pty
import select
import subprocess
import termios
import time

import pytest

from generator_helpers import CRD_DIR, PYTHON, REPO_ROOT, FakeGitHub


def run(*args, env=None, timeout=120):
    """Run the generator with no terminal on stdin; return the completed process."""
    return subprocess.run([str(PYTHON), "-m", "wizard.generator", *map(str, args)], cwd=REPO_ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "LABWIZ_GITHUB_API": "http://127.0.0.1:9", **(env or {})})


def test_kind_from_a_directory(tmp_path):
    """--crd KIND --crd-dir DIR writes the four files and says so."""
    proc = run("--crd", "Endpoint", "--crd-dir", CRD_DIR, "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in ("endpoint_component.py", "component.yaml", "request.yaml.tpl", "README.md"):
        assert (tmp_path / "Endpoint" / name).is_file()
        assert f"CREATED: {tmp_path / 'Endpoint' / name}" in proc.stdout


def test_seed_style_file_name_and_path(tmp_path):
    """The seed's file-name form and a plain path both work."""
    proc = run("--crd", "sagemaker.services.k8s.aws_models.yaml", "--crd-dir", CRD_DIR, "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = run("--crd", CRD_DIR / "sagemaker.services.k8s.aws_modelpackages.yaml", "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "ModelPackage" / "component.yaml").is_file()


def test_no_crd_and_no_tty_is_a_clear_error(tmp_path):
    """Without --crd and without a terminal it refuses, saying what to pass."""
    proc = run("--out", tmp_path)
    assert proc.returncode == 1
    assert "no CRD named and no terminal to ask on: pass --crd KIND" in proc.stderr
    assert not tmp_path.joinpath("TrainingJob").exists()


@pytest.mark.parametrize("args, message", [
    (["--crd", "Trainingjobz", "--crd-dir", CRD_DIR], "no CRD named 'Trainingjobz'"),
    (["--crd", "./missing.yaml"], "CRD file not found: missing.yaml"),
    (["--crd", "pyproject.toml"], "pyproject.toml: not valid YAML"),
    (["--crd", "Model"], "cannot reach 127.0.0.1:9"),  # default source is a release; here: offline
])
def test_bad_inputs(args, message, tmp_path):
    """Each bad input exits 1 with its own message and no traceback."""
    proc = run(*args, "--out", tmp_path, "--cache-dir", tmp_path / "cache")
    assert proc.returncode == 1 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_release_option_uses_the_local_github(tmp_path):
    """--release TAG downloads through the (injected) GitHub API and caches."""
    github = FakeGitHub({"v1.9.1": CRD_DIR}, latest="v1.9.1")
    try:
        proc = run("--crd", "TransformJob", "--release", "v1.9.1", "--out", tmp_path / "out",
                   "--cache-dir", tmp_path / "cache", env={"LABWIZ_GITHUB_API": github.url})
    finally:
        github.stop()
    assert proc.returncode == 0, proc.stderr
    assert "from aws-controllers-k8s/sagemaker-controller@v1.9.1" in proc.stdout
    assert (tmp_path / "cache" / "v1.9.1" / "sagemaker.services.k8s.aws_transformjobs.yaml").is_file()


def test_prompt_on_a_terminal(tmp_path):
    """With a TTY and no --crd, a numbered list is shown; a bad answer is re-asked; a number picks."""
    pid, fd = pty.fork()
    if pid == 0:  # child: become the generator, attached to the pty
        try:
            os.chdir(REPO_ROOT)
            # TERM=dumb: the plain numbered list (a capable terminal gets the arrow-key menu)
            os.execve(str(PYTHON), [str(PYTHON), "-m", "wizard.generator", "--crd-dir",
                                    str(CRD_DIR), "--out", str(tmp_path)],
                      {**os.environ, "TERM": "dumb"})
        finally:  # exec failed: the child must not go on running pytest
            os._exit(127)
    output = b""
    answers = [(b"Number or kind [TrainingJob]:", b"Trainingjobz\r"), (b"Type a number from 1 to 26", b"25\r")]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break  # the child closed the terminal: it is done
            if not chunk:
                break
            output += chunk
        if answers and answers[0][0] in output:
            os.write(fd, answers.pop(0)[1])
    _, status = os.waitpid(pid, 0)
    text = output.decode(errors="replace")
    assert not answers, text
    assert "25) TransformJob" in text and "Did you mean TrainingJob?" in text
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert (tmp_path / "TransformJob" / "component.yaml").is_file(), text


#: a program's "where is the cursor?" (DSR 6); the terminal answers ESC [ row ; col R
CURSOR_POSITION_REQUEST = b"\x1b[6n"


def _reading_keys(fd: int) -> bool:
    """Whether the program on the pty reads single keys now (canonical mode is off)."""
    try:
        return not termios.tcgetattr(fd)[3] & termios.ICANON
    except termios.error:  # the child closed the terminal
        return False


def _drive_pty(argv: list[str], env: dict, answers: list, timeout: float = 90) -> tuple[str, int]:
    """Run argv on a pseudo-terminal, answering prompts; kill it if it overruns."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.chdir(REPO_ROOT)
            os.execve(argv[0], argv, env)
        finally:  # exec failed: the child must not go on running pytest
            os._exit(127)
    output = b""
    answered = 0  # cursor position requests answered so far
    since = 0  # where the output after the last key sent starts
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        # answer cursor position requests as every real terminal does (xterm.js included):
        # blessed asks for the position after each capability query it makes, and waits up to
        # 5 s for a terminal that stays silent (four such waits made this test take 20 s)
        while output.count(CURSOR_POSITION_REQUEST) > answered:
            os.write(fd, b"\x1b[1;1R")
            answered += 1
        # a key goes in once its prompt shows in what came after the previous key (a menu
        # redrawn for it) and the menu reads keys: readchar switches the terminal out of
        # canonical mode for each key with TCSAFLUSH, which drops anything typed before, and
        # back after it, so wait for that switch (the pty's own flags), never a guessed time
        if answers and answers[0][0] in output[since:] and _reading_keys(fd):
            os.write(fd, answers.pop(0)[1])
            since = len(output)
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    return output.decode(errors="replace"), os.waitstatus_to_exitcode(status)


def test_arrow_key_menu_on_a_capable_terminal(tmp_path):
    """On an xterm the CRD is picked from inquirer's arrow-key menu (TrainingJob preselected)."""
    env = {**os.environ, "TERM": "xterm-256color"}
    text, code = _drive_pty([str(PYTHON), "-m", "wizard.generator", "--crd-dir", str(CRD_DIR),
                             "--out", str(tmp_path)], env,
                            [(b"Select the CRD", b"\x1b[B"),
                             # the menu redrawn with the cursor on the next CRD
                             (b"> sagemaker.services.k8s.aws_transformjobs", b"\r")])
    assert code == 0, text
    assert (tmp_path / "TransformJob" / "component.yaml").is_file(), text
