"""Helpers of the compile, upload and run-monitoring steps (KFP packages, client work, runs).

Modules import kfp and the other heavy libraries inside their functions.
"""
