"""Helpers shared by the TUI tests."""

from __future__ import annotations

import asyncio


async def wait_for(pilot, condition, timeout: float = 15.0) -> None:
    """Let the app run until ``condition()`` holds; fail with a clear message after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {condition.__doc__ or condition}")
        await pilot.pause(0.05)
