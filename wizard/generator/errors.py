"""Errors of the component generator; each message says what went wrong and what to do next."""


class GeneratorError(Exception):
    """Base class: a problem the learner can fix (bad input, offline, rate limited)."""


class CrdError(GeneratorError):
    """A CRD could not be loaded or found: missing file, not a CRD, wrong group, unknown name."""


class NoCrdsInCluster(CrdError):
    """The cluster answered, but has no ACK SageMaker CRDs installed (callers may try another source)."""


class ReleaseError(GeneratorError):
    """The ACK release could not be fetched from GitHub (offline, rate limited, unknown tag)."""
