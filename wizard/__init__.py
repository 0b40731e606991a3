"""labwiz: a terminal wizard for the "Kubeflow Pipelines with Amazon SageMaker Components" lab.

The core (this package, outside ``wizard.tui`` and ``wizard.plain``) never imports a front-end
library, so the Textual TUI, the plain prompts and the headless runner all sit on one engine.
"""

__version__ = "0.1.0"
