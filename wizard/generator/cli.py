"""`labwiz generate`: the click command (mounted by the core CLI, or run as python -m wizard.generator)."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

import click

from wizard.generator.crds import CrdInfo, find_crd, load_crds_from_path
from wizard.generator.errors import GeneratorError


def _catalogue(release: str | None, crd_dir: Path | None, cache_dir: Path | None) -> tuple[list[CrdInfo], str]:
    """The CRDs a NAME is looked up in, and a phrase saying where they came from."""
    if crd_dir is not None:
        return load_crds_from_path(crd_dir), str(crd_dir)
    from wizard.generator.release import REPO, load_crds_from_release
    tag = release or "latest"
    return load_crds_from_release(tag, cache_dir=cache_dir), f"{REPO} release {tag}"


def _looks_like_path(name: str) -> bool:
    """True when NAME should be read as a file or directory rather than a kind."""
    return Path(name).expanduser().exists() or "/" in name or name.startswith(".")


def _prompt(crds: list[CrdInfo]) -> CrdInfo:
    """Ask the learner to pick a CRD from a numbered list (a number or a kind is accepted).

    ARCHITECTURE.md keeps inquirer out of wizard/ outside the front-ends (tests/test_layering.py
    checks the source), so this prompt uses click; a front-end may pass its own chooser to
    choose_crd() instead.
    """
    ordered = sorted(crds, key=lambda c: c.kind)
    click.echo("Which SageMaker resource should the component create?")
    for i, crd in enumerate(ordered, 1):
        click.echo(f"  {i:>2}) {crd.kind:<34} {crd.summary[:60]}")
    default = "TrainingJob" if any(c.kind == "TrainingJob" for c in ordered) else ordered[0].kind
    while True:
        answer = click.prompt("Number or kind", default=default).strip()
        if answer.isdigit() and 1 <= int(answer) <= len(ordered):
            return ordered[int(answer) - 1]
        try:
            return find_crd(ordered, answer)
        except GeneratorError as exc:
            click.echo(f"{exc}\nType a number from 1 to {len(ordered)}, or a kind.")


def _arrow_menu() -> Callable[[list[CrdInfo]], CrdInfo] | None:
    """The plain front-end's arrow-key menu (inquirer) on a capable terminal, else None.

    The menu lives in ``wizard.plain`` so that the generator itself never imports inquirer.
    """
    if not (sys.stdin.isatty() and sys.stdout.isatty()) or os.environ.get("TERM", "dumb") == "dumb":
        return None
    from wizard.plain.prompts import Asker

    asker = Asker()

    def pick(crds: list[CrdInfo]) -> CrdInfo:
        names = [c.file_name for c in crds]
        default = next((n for n in names if n.endswith("_trainingjobs.yaml")), names[0])
        return crds[names.index(asker.choose("Select the CRD you want to use", names, default))]

    return pick


def choose_crd(crd: str | None, release: str | None, crd_dir: Path | None, cache_dir: Path | None,
               interactive: bool, chooser: Callable[[list[CrdInfo]], CrdInfo] | None = None) -> CrdInfo:
    """Resolve --crd (kind, plural, file name or path) to one CrdInfo, prompting if allowed.

    `chooser` replaces the numbered-list prompt (e.g. a front-end's arrow-key menu).
    """
    ask = chooser or _prompt
    if crd and _looks_like_path(crd):
        found = load_crds_from_path(crd)
        if len(found) == 1:
            return found[0]
        if not interactive:
            raise GeneratorError(f"{crd} holds {len(found)} CRDs; name one with --crd KIND --crd-dir {crd}.")
        return ask(found)
    if not crd and not interactive:
        raise GeneratorError("no CRD named and no terminal to ask on: pass --crd KIND (e.g. --crd TrainingJob), "
                             "a plural, a release file name, or a path to a CRD file.")
    crds, where = _catalogue(release, crd_dir, cache_dir)
    return find_crd(crds, crd, where) if crd else ask(crds)


@click.command("generate")
@click.option("--crd", "crd", metavar="NAME|PATH",
              help="Kind (TrainingJob), plural (trainingjobs), release file name, or a CRD file/directory.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("components"),
              show_default=True, help="Directory to write <Kind>/ into.")
@click.option("--image", default=None, help="Base image for the component (default python:3.11-slim).")
@click.option("--release", default=None, metavar="TAG",
              help="ACK sagemaker-controller release to take CRDs from (default: latest; cached).")
@click.option("--crd-dir", type=click.Path(exists=True, path_type=Path), default=None,
              help="Look NAME up in this directory of CRD files instead of a release.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None, hidden=True,
              help="Where downloaded releases are cached.")
def generate(crd: str | None, out_dir: Path, image: str | None, release: str | None,
             crd_dir: Path | None, cache_dir: Path | None) -> None:
    """Generate a Kubeflow Pipelines component for an ACK SageMaker CRD."""
    try:
        chosen = choose_crd(crd, release, crd_dir, cache_dir, interactive=sys.stdin.isatty(),
                            chooser=_arrow_menu())
        click.echo(f"CRD: {chosen.kind} ({chosen.group}/{chosen.version}) from {chosen.source}")
        from wizard.generator.core import generate as generate_component  # kfp loads only now
        result = generate_component(chosen, out_dir, image=image)
    except GeneratorError as exc:
        raise click.ClickException(str(exc)) from None
    for path in (result.module_path, result.component_yaml, result.request_template, result.readme):
        click.echo(f"CREATED: {path}")
    click.echo(f"{len(result.input_map)} spec inputs, {len(result.outputs)} outputs; "
               f"image {result.image}. Load it with kfp.components.load_component_from_file"
               f"('{result.component_yaml}').")
