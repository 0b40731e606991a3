"""The instructors' autopilot: run the lab step by step with a pause between steps.

The countdown runs on the app's event loop (a Textual interval), never a thread: it only decides
when to ask the app to run the next step. Space pauses and resumes it; ``n`` runs the next step now.

A demo started at a later step (``labwiz demo --from STEP``) first *catches up*: the steps before
STEP that are not done yet run one after another without a countdown, so the instructor lands on
the step they want to show with everything it needs in place.
"""

from __future__ import annotations

from typing import Callable

TICK = 0.25


class Autopilot:
    """Counts down between steps and starts the next one through ``start(step_id)``."""

    def __init__(self, app, pause: float, start: Callable[[str], None],
                 status: Callable[[str], None]) -> None:
        """Start idle; :meth:`schedule` begins a countdown."""
        self.app = app
        self.pause = max(0.0, float(pause))
        self.start = start
        self.status = status
        self.paused = False
        self.next_step: str | None = None
        self.remaining = 0.0
        self._timer = None
        self._title = ""
        self.running = ""            # the title of the step the autopilot started, while it runs
        self.rush: set[str] = set()  # steps run without a countdown (catching up to the start)
        self.goal = ""               # the title of the step the demo starts at, while catching up

    def catch_up(self, step_ids, goal_title: str) -> None:
        """Run ``step_ids`` (those before the demo's starting step) without a countdown."""
        self.rush = set(step_ids)
        self.goal = goal_title

    def schedule(self, step_id: str | None, title: str = "") -> None:
        """Count down to ``step_id`` (None: the lab is complete)."""
        self.next_step = step_id
        self.running = ""
        # a catch-up step starts on the next tick: no countdown, but space can still hold it
        self.remaining = 0.0 if step_id in self.rush else self.pause
        self._title = title or (step_id or "")
        if step_id is None:
            self._stop_timer()
            self.status("Autopilot: the lab is complete. Press q to quit.")
            return
        if self._timer is None:
            self._timer = self.app.set_interval(TICK, self._tick)
        self._show()

    def hold(self, why: str, running: str = "") -> None:
        """Stop counting (a step is running — its title in ``running`` —, or failed and waits
        for a retry)."""
        self.next_step = None
        self.running = running
        self._stop_timer()
        self.status(f"Autopilot: {why}" + (" (paused: the demo waits after it; space: resume)"
                                           if self.paused and running else ""))

    def toggle(self) -> None:
        """Pause or resume the countdown; the status line says which, even while a step runs
        (the pause then takes effect when it has finished)."""
        self.paused = not self.paused
        if self.next_step is None and self.running:
            self.status(f"Autopilot paused: '{self.running}' finishes, then the demo waits. "
                        "space: resume" if self.paused else
                        f"Autopilot resumed: running '{self.running}'; the next step follows "
                        "after the pause. space: pause")
            return
        self._show()

    def advance(self) -> None:
        """Run the next step now (even while paused: it is an explicit request)."""
        if self.next_step is not None:
            step_id, self.next_step = self.next_step, None
            self._stop_timer()
            self.start(step_id)

    def _tick(self) -> None:
        """Count down one tick (a timer callback: an error goes to the app's central handler,
        as a handler's would)."""
        try:
            self._count_down()
        except Exception as error:  # noqa: BLE001 - reported, never fatal
            self.app.report_unexpected(error)

    def _count_down(self) -> None:
        """Count down one tick; start the step when the time is up."""
        if self.next_step is None or self.paused:
            self._show()
            return
        self.remaining -= TICK
        if self.remaining <= 0:
            step_id, self.next_step = self.next_step, None
            self._stop_timer()
            self.start(step_id)
            return
        self._show()

    def _show(self) -> None:
        """Write the countdown (or the paused state) to the status line."""
        if self.next_step is None:
            return
        if self.paused:
            self.status(f"Autopilot paused before '{self._title}'. space: resume · n: run it now")
        elif self.next_step in self.rush:
            self.status(f"Autopilot: catching up to '{self.goal}': '{self._title}' runs now, "
                        "without a pause. space: pause")
        else:
            self.status(f"Autopilot: '{self._title}' starts in {max(self.remaining, 0):.0f} s. "
                        "space: pause · n: run it now")

    def _stop_timer(self) -> None:
        """Stop the interval timer, if one runs."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
