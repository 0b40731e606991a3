"""Cleanup: remove exactly what the lab created, from the ledger and the run's resources.

``plan.build_plan`` gathers the items (ledger rows, the run's custom resources and the SageMaker
resources behind them, cross-checked against the lineage tag and label); ``apply.apply_plan``
removes them in a safe order, idempotently; ``apply.leftovers`` counts what still exists by the
removers' own reads, ``sweep.leftovers`` proves the outcome through the services' list calls;
``reconcile`` settles the ledger's intents left by a crash before anything is planned.
"""

from wizard.cleanup.apply import apply_plan, item_command, leftovers
from wizard.cleanup.plan import Item, build_plan

__all__ = ["Item", "build_plan", "apply_plan", "leftovers", "item_command"]
