"""Commands shown short, for output read line by line (the headless reporter in a pipe).

The lab's commands are long (paths, bucket names, policy documents) and often come in runs that
look alike at their start (seven ``labwiz generate --crd …`` lines). Printed whole they fill the
screen, cut at the end they all read the same. So a command is shortened where it carries least:
a JSON document becomes ``'{…}'``, a long path keeps its last part (``…/x_trainingjobs.yaml``),
and only then is the middle cut. A run of commands of the same kind prints as one line whose
differing part is listed in braces (``…/aws_{processingjobs,models,…}.yaml``). The step's end names
the file that has every command whole, runnable as printed: this is for reading only.
"""

from __future__ import annotations

import re

from wizard.protocol import Command, _shell_word

#: a word of a command's verb: "aws", "iam", "create-role", "generate" (not a value or a path)
_VERB_WORD = re.compile(r"^[a-z][a-z0-9-]*$")
#: characters a shared prefix or suffix may end (or start) at
_SEPARATORS = "/_.-:"


def words(command: Command) -> list[str]:
    """The command's words as the shell would see them (secrets as their placeholder)."""
    return [_shell_word(a) for a in command.argv]


def verb(command: Command) -> str:
    """What the command does, without its values: ``aws iam create-role``, ``kfp run create``
    (options before the subcommand, such as kfp's ``--endpoint URL``, are passed over)."""
    out: list[str] = []
    argv = [str(a) for a in command.argv]
    i = 0
    while i < len(argv) and len(out) < 3:
        word = argv[i]
        if word.startswith("-"):
            if out and len(out) > 1:
                break
            # a global option and its value ("--endpoint URL"): not part of the verb
            i += 2 if i + 1 < len(argv) and not argv[i + 1].startswith("-") else 1
            continue
        if not _VERB_WORD.match(word) or (out and len(word) > 30):
            break
        out.append(word)
        i += 1
    return " ".join(out) or (argv[0] if argv else "")


def _short_word(word: str) -> str:
    """A long word as its telling part: a JSON document as ``'{…}'``, a path or URI as its last
    part (``…/file.yaml``, ``s3://…/dir/file``)."""
    bare = word.strip("'\"")
    if bare[:1] in "{[" and len(bare) > 12:
        return "'{…}'" if bare[0] == "{" else "'[…]'"
    if "/" in bare and len(bare) > 16 and not bare.startswith("http"):
        scheme = bare[:bare.index("://") + 3] if "://" in bare else ""
        parts = [p for p in bare[len(scheme):].split("/") if p]
        tail = "/".join(parts[-2:]) if len(parts[-1]) < 12 and len(parts) > 1 else parts[-1] if parts else ""
        tail += "/" if bare.endswith("/") else ""
        return f"{scheme}…/{tail}"
    return word


def _shorter_word(word: str) -> str:
    """A word :func:`_short_word` already shortened, shorter still: a file name keeps its end
    from a separator on (``…processingjobs.yaml`` for ``…/sagemaker.services.k8s.aws_processingjobs.yaml``)."""
    if not word.startswith(("…/", "s3://…/")):
        return word
    rest = word[word.index("…/") + 2:]
    ends = [rest[i + 1:] for i, c in enumerate(rest) if c in _SEPARATORS and len(rest) - i - 1 >= 16]
    return "…" + ends[-1] if ends else word


def middle_cut(text: str, width: int) -> str:
    """``text`` in ``width`` characters: its middle gives way to ``…``, its start and end stay."""
    if len(text) <= width:
        return text
    keep = max(1, width - 1)
    head = keep * 3 // 5
    return text[:head] + "…" + text[len(text) - (keep - head):]


def shorten(parts: list[str], width: int) -> str:
    """Words joined, shortened to ``width``: the longest shortenable words first (documents,
    paths), then file names to their end, then the line's end."""
    parts = list(parts)
    line = " ".join(parts)
    for index in sorted(range(len(parts)), key=lambda i: -len(parts[i])):
        if len(line) <= width:
            break
        parts[index] = _short_word(parts[index])
        line = " ".join(parts)
    for index in sorted(range(len(parts)), key=lambda i: -len(parts[i])):
        if len(line) <= width:
            break
        parts[index] = _shorter_word(parts[index])
        line = " ".join(parts)
    # then the end gives way: what comes first (the verb, the names) tells the command apart;
    # the rest is in the step's commands file
    return line if len(line) <= width else line[:width - 1].rstrip() + "…"


def one_line(command: Command, width: int) -> str:
    """One command in ``width`` characters (a here-document shows its first line)."""
    parts = words(command)
    if command.stdin is not None:
        parts.append("<<'EOF'")
    return shorten(parts, width)


def _common_ends(values: list[str]) -> tuple[str, str]:
    """The prefix and suffix all ``values`` share, each ending (starting) at a separator."""
    prefix = values[0]
    for value in values[1:]:
        while not value.startswith(prefix):
            prefix = prefix[:-1]
    cut = max(prefix.rfind(c) for c in _SEPARATORS)
    prefix = prefix[:cut + 1] if cut >= 0 else ""
    suffix = values[0][len(prefix):]
    for value in values[1:]:
        while not value.endswith(suffix):
            suffix = suffix[1:]
    starts = [suffix.find(c) for c in _SEPARATORS if c in suffix]
    suffix = suffix[min(starts):] if starts else ""
    if any(len(v) < len(prefix) + len(suffix) for v in values):
        suffix = ""
    return prefix, suffix


def group_line(commands: list[Command], width: int) -> str:
    """Commands of one verb in one line: the word they differ in listed as ``pre{a,b,…}post``
    (as many as fit), or the first command and how many more there are."""
    rows = [words(c) for c in commands]
    differ = [i for i in range(len(rows[0])) if len({r[i] if i < len(r) else None for r in rows}) > 1]
    if len({len(r) for r in rows}) != 1 or len(differ) != 1 or any(c.stdin for c in commands):
        return shorten(rows[0], max(20, width - 14)) + f"  (+{len(rows) - 1} alike)"
    at = differ[0]
    values = [r[at] for r in rows]
    prefix, suffix = _common_ends(values)
    middles = [v[len(prefix):len(v) - len(suffix)] for v in values]
    head = prefix
    if len(head) > 12:  # a long shared start: its last part is enough ("…aws_")
        cuts = [i for i, c in enumerate(head[:-1]) if c in _SEPARATORS]
        head = "…" + head[cuts[-1] + 1:] if cuts else head
    others = [_short_word(w) for w in rows[0]]
    before, after = " ".join(others[:at]), " ".join(others[at + 1:])
    room = width - len(before) - len(after) - len(head) - len(suffix) - 4
    shown: list[str] = []
    for middle in middles:  # as many as fit (a long one makes way for shorter ones after it)
        if len(",".join(shown + [middle])) + 2 <= room or not shown:
            shown.append(middle)
    if len(shown) < len(middles):
        shown.append("…")
    word = f"{head}{{{','.join(shown)}}}{suffix}"
    return middle_cut(" ".join(p for p in (before, word, after) if p), width)


def batch_lines(commands: list[Command], width: int) -> list[str]:
    """A run of commands printed together, each line without its ``$ `` (``width`` includes it).

    Consecutive commands of the same verb make one line (one command: itself, shortened);
    several kinds of command print as one line naming each kind's verb, so a burst of a dozen
    commands still reads in a line.
    """
    groups: list[list[Command]] = []
    for command in commands:
        if groups and verb(groups[-1][0]) == verb(command):
            groups[-1].append(command)
        else:
            groups.append([command])
    room = width - 2
    if len(groups) == 1:
        return [one_line(groups[0][0], room) if len(groups[0]) == 1 else group_line(groups[0], room)]
    named = [verb(g[0]) + " …" + (f" ×{len(g)}" if len(g) > 1 else "") for g in groups]
    shown: list[str] = []
    for index, name in enumerate(named):
        rest = len(named) - index - 1
        more = f"; (+{rest} more)" if rest else ""
        if shown and len("; ".join(shown + [name])) + len(more) > room:
            shown.append(f"(+{len(named) - index} more)")
            break
        shown.append(name)
    return ["; ".join(shown)]
