"""ACK's field naming, applied to botocore member names.

ACK's code generator turns an AWS API member name such as ``ExecutionRoleArn`` into a Kubernetes
JSON field name such as ``executionRoleARN``. The rule has two parts:

1. *Initialisms.* The name is cut into words at case boundaries (``HomeEfsFileSystemKmsKeyId`` is
   ``Home|Efs|File|System|Kms|Key|Id``). A word that is a known initialism, spelled in any case
   (``Arn``, ``ARN``), or its plural (``Ids``, ``Arns``), is written in capitals (``ARN``, ``IDs``).
   Only whole words match, so ``Identifier`` or ``Idle`` never become ``ID``-something.
2. *Lower camel case.* The first word is lower-cased. When that first word is an initialism (or any
   all-capitals word such as ``MB`` or ``S3``), all of it is lower-cased (``KmsKeyId`` gives
   ``kmsKeyID``, ``S3Uri`` gives ``s3URI``, ``Url`` gives ``url``), otherwise only its first letter.

3. *Go keywords.* ACK's types are Go structs, so a name that would be a Go keyword gets a
   trailing underscore: ``Type`` gives ``type_``.

Digits stay with the word before them (``S3``, ``Ec2``), so ``S3Uri`` splits as ``S3|Uri``.
"""

from __future__ import annotations

import functools
import re

#: Initialisms ACK writes in capitals, keyed by their capitalised spelling. The list is the
#: acronyms that occur in AWS API member names; a word must equal one of them exactly (case
#: aside) to be changed, so adding a short entry cannot damage longer words.
INITIALISMS: frozenset[str] = frozenset(
    {
        "ACL", "ACM", "AMI", "API", "ARN", "ASN", "AZ", "CA", "CIDR", "CPU", "CSV", "DB", "DNS",
        "EBS", "EC2", "ECR", "ECS", "EFS", "EKS", "EMR", "FSX", "GID", "GPU", "HTTP", "HTTPS",
        "IAM", "ICMP", "ID", "IOPS", "IP", "JSON", "JWT", "KMS", "MFA", "ML", "NFS", "OIDC",
        "RAM", "RDS", "SAML", "SDK", "SHA", "SNS", "SQL", "SQS", "SSE", "SSH", "SSL", "SSM",
        "SSO", "TCP", "TLS", "TTL", "UDP", "UI", "UID", "URI", "URL", "UUID", "VPC", "VPN",
        "XML",
    }
)

#: Go's reserved words. ACK generates Go structs, so a field whose name would be one of these
#: (``Type`` gives ``type``) gets a trailing underscore in its JSON name too (``type_``).
GO_KEYWORDS: frozenset[str] = frozenset(
    {
        "break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough",
        "for", "func", "go", "goto", "if", "import", "interface", "map", "package", "range",
        "return", "select", "struct", "switch", "type", "var",
    }
)

# A word is an upper-case run that is not the start of a capitalised word, a capitalised or
# lower-case word, or a lone digit run; digits are glued to the previous word afterwards.
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def split_words(name: str) -> list[str]:
    """Cut a botocore member name into words at case boundaries, digits kept with the word before.

    ``"MaxPayloadInMB"`` gives ``["Max", "Payload", "In", "MB"]``; ``"S3Uri"`` gives
    ``["S3", "Uri"]``. Characters that are neither letters nor digits separate words.
    """
    words: list[str] = []
    for part in re.split(r"[^A-Za-z0-9]+", name):
        for match in _WORD.finditer(part):
            token = match.group(0)
            if token.isdigit() and words and match.start() > 0:
                words[-1] += token
            else:
                words.append(token)
    return words


def _initialism(word: str) -> str | None:
    """The capitalised spelling of ``word`` if it is a known initialism or its plural, else None."""
    upper = word.upper()
    if upper in INITIALISMS:
        return upper
    # a plural keeps its lower-case s: Ids -> IDs, ARNs stays ARNs
    if len(word) > 2 and word[-1] in "sS" and upper[:-1] in INITIALISMS:
        return upper[:-1] + "s"
    return None


@functools.lru_cache(maxsize=8192)
def ack_field_name(member: str) -> str:
    """The JSON field name ACK gives the botocore member ``member`` (lower camel case).

    Raises ValueError for an empty name, which no API model contains.
    """
    words = split_words(member)
    if not words:
        raise ValueError(f"cannot derive a field name from {member!r}: it has no letters or digits")
    out: list[str] = []
    for index, word in enumerate(words):
        initialism = _initialism(word)
        if index == 0:
            # A leading initialism or all-capitals word is lower-cased whole (kmsKeyID, s3URI);
            # a leading plural initialism keeps nothing upper-case either (IDs -> ids).
            if initialism is not None or word.isupper() or _is_upper_with_digits(word):
                out.append(word.lower())
            else:
                out.append(word[0].lower() + word[1:])
        else:
            out.append(initialism if initialism is not None else word)
    name = "".join(out)
    return name + "_" if name in GO_KEYWORDS else name


def _is_upper_with_digits(word: str) -> bool:
    """True for words like ``S3`` or ``EC2``: capitals and digits, at least one capital."""
    return any(c.isalpha() for c in word) and all(c.isupper() or c.isdigit() for c in word)


def kind_plural(kind: str) -> str:
    """The lower-case plural resource name Kubernetes uses for ``kind`` (``TrainingJob`` gives
    ``trainingjobs``, ``EndpointConfig`` gives ``endpointconfigs``)."""
    lower = kind.lower()
    if lower.endswith(("s", "x", "ch", "sh")):
        return lower + "es"
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u"):
        return lower[:-1] + "ies"
    return lower + "s"
