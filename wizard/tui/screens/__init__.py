"""Whole-screen views of the TUI."""

from wizard.tui.screens.main import MainScreen

__all__ = ["MainScreen"]
