"""The Textual front-end of labwiz: ``run_app(obj)`` in :mod:`wizard.tui.app`.

Layout follows the usual Textual split: ``screens/`` (whole-screen views), ``dialogs/`` (modal
screens that return a result), ``widgets/`` (the parts screens are built from), ``model.py`` (the
pure data shaping that needs no terminal) and ``work.py`` (the blocking calls that thread workers
make). Stylesheets are ``.tcss`` files next to the code that uses them.
"""
