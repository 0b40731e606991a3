"""Cold start of ``labwiz --version`` and ``labwiz status`` (target ≤ 0.4 s, median of 7)."""

from __future__ import annotations

import tempfile

from bench.common import labwiz_cmd, median, report, time_command


def main() -> None:
    """Measure and print the figures."""
    with tempfile.TemporaryDirectory() as state:
        env = {"LABWIZ_STATE_DIR": state}
        for args in (["--version"], ["status"]):
            times = time_command(labwiz_cmd() + args, runs=7, env=env)
            report(f"cold start: labwiz {' '.join(args)}", median(times), "s", "<= 0.4", runs=7)


if __name__ == "__main__":
    main()
