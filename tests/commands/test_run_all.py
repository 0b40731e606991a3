""":func:`run_all` runs every printed line in order, and a line printed again word for word once."""

from __future__ import annotations

import os

import pytest

from tests.commands.printed import run_all


@pytest.mark.tools("kubectl")
def test_a_line_printed_again_runs_once(tmp_path):
    """A repeat, in the same call or a later one, stands on the first run's outcome; other
    lines keep their order."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    ran: dict = {}
    first = run_all(["kubectl version --client", "kubectl get --help", "kubectl version --client"],
                    "a.sh", env=env, cwd=tmp_path, ran=ran)
    later = run_all(["kubectl version --client", "kubectl no-such-command"], "--explain",
                    env=env, cwd=tmp_path, ran=ran)
    got = first + later
    assert [o.line for o in got] == ["kubectl version --client", "kubectl get --help",
                                     "kubectl version --client", "kubectl version --client",
                                     "kubectl no-such-command"]
    assert [o.reused for o in got] == [False, False, True, True, False]
    assert [o.source for o in got] == ["a.sh", "a.sh", "a.sh", "--explain", "--explain"]
    assert len(ran) == 3 and first[0].returncode == 0
    assert got[-1].usage_error, got[-1].describe()
