"""The sandbox drops a component's pip preamble only when every package is already installed."""

from __future__ import annotations

from wizard.sandbox.kfp_api.pipcheck import strip_satisfied_pip

PREAMBLE = ('\nif ! [ -x "$(command -v pip)" ]; then\n    python3 -m ensurepip\nfi\n\n'
            "PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet "
            "--no-warn-script-location {reqs} && \"$0\" \"$@\"\n")


def _cmd(reqs: str) -> list[str]:
    return ["sh", "-c", PREAMBLE.format(reqs=reqs), "python3", "-m", "kfp.dsl.executor_main"]


def test_installed_pins_skip_pip():
    import kfp
    import kubernetes

    reqs = (f"'kubernetes=={kubernetes.__version__}' && python3 -m pip install --quiet "
            f"'kfp=={kfp.__version__}' '--no-deps' 'typing-extensions>=3.7.4,<5; python_version<\"3.9\"'")
    command, skipped = strip_satisfied_pip(_cmd(reqs))
    assert skipped and command[:3] == ["sh", "-c", '"$0" "$@"']
    assert command[3:] == ["python3", "-m", "kfp.dsl.executor_main"]


def test_missing_or_other_version_keeps_pip():
    for reqs in ("'kubernetes==1.0.0'", "'no-such-package-labwiz==1.0'"):
        command, skipped = strip_satisfied_pip(_cmd(reqs))
        assert not skipped and "pip install" in command[2]


def test_other_commands_are_untouched():
    command = ["python3", "-c", "print(1)"]
    assert strip_satisfied_pip(command) == (command, False)
