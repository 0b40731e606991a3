"""Lab step 'cleanup': remove everything the lab created, so nothing keeps billing."""

from __future__ import annotations

from wizard.errors import NotReadyError
from wizard.protocol import Context, Reporter, Step


class CleanupStep(Step):
    """Remove everything the lab created, so nothing keeps billing."""

    id = "cleanup"
    title = "Cleanup"
    summary = "Remove everything the lab created, so nothing keeps billing."
    lesson = """An endpoint bills by the hour until it is deleted. Cleanup builds a plan from the wizard's ledger of what it
created, shows it, and after you confirm removes exactly that: never anything the wizard did not create."""
    creates = ()

    def run(self, ctx: Context, reporter: Reporter) -> dict:
        """Not available yet in this version: fail plainly rather than pretend."""
        raise NotReadyError(
            f"The '{self.title}' step cannot run in this version of labwiz yet.",
            remediation="Skip it with --skip cleanup if you did this part by hand.",
        )
