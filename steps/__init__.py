"""The lab's steps: one module per step, each a small class implementing ``wizard.protocol.Step``.

Their order is in ``wizard.registry.LAB_STEPS``.
"""
