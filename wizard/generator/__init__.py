"""The ACK SageMaker component generator (lab steps 3-4).

Public interface (heavy libraries load only when these are called):

- `CrdInfo`, `load_crds_from_path`, `load_crds_from_cluster`, `find_crd` (wizard.generator.crds)
- `load_crds_from_release` (wizard.generator.release)
- `generate`, `GeneratedComponent` (wizard.generator.core)
- the click command `generate` in wizard.generator.cli; `python -m wizard.generator`
"""
from wizard.generator.crds import CrdInfo, find_crd, load_crds_from_cluster, load_crds_from_path
from wizard.generator.errors import CrdError, GeneratorError, ReleaseError

__all__ = ["CrdInfo", "CrdError", "GeneratorError", "ReleaseError", "find_crd", "generate",
           "GeneratedComponent", "load_crds_from_cluster", "load_crds_from_path", "load_crds_from_release"]


def __getattr__(name: str):
    """Load the generator and the release loader on first use, keeping this import light."""
    if name in ("generate", "GeneratedComponent"):
        from wizard.generator import core
        return getattr(core, name)
    if name == "load_crds_from_release":
        from wizard.generator.release import load_crds_from_release
        return load_crds_from_release
    raise AttributeError(name)
