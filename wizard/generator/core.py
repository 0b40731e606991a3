"""generate(): write one CRD's component module, compiled YAML, request template and README."""
from __future__ import annotations

import importlib.util
import linecache
import pprint
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from wizard.generator.crds import CrdInfo
from wizard.generator.errors import GeneratorError
from wizard.generator.model import RUNTIME_INPUTS, ComponentModel, build_model

DEFAULT_BASE_IMAGE = "python:3.11-slim"
#: Pinned so the step's `pip install` is a no-op where this version is already installed (offline runs).
RUNTIME_PACKAGES = ("kubernetes==30.1.0",)
TEMPLATES = Path(__file__).resolve().parents[2] / "assets" / "templates"
RUNTIME_FILE = Path(__file__).with_name("runtime.py")


@dataclass(frozen=True)
class GeneratedComponent:
    """What generate() wrote, and the names a caller needs to use it."""

    kind: str
    directory: Path
    module_path: Path
    component_yaml: Path
    request_template: Path
    readme: Path
    function_name: str
    image: str
    input_map: dict[str, str]
    outputs: tuple[str, ...]

    def load(self) -> Any:
        """Import the generated module and return the KFP component object."""
        return getattr(import_module_from(self.module_path), self.function_name)


def import_module_from(path: Path) -> Any:
    """Import a generated module by path under a unique name (fresh source each time)."""
    name = f"labwiz_generated_{path.parent.name}_{abs(hash(str(path)))}"
    linecache.checkcache(str(path))  # KFP reads the source through inspect/linecache
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise GeneratorError(f"cannot import the generated module {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _template(name: str) -> Template:
    """One template from assets/templates."""
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def _clean(text: str) -> str:
    """Make a description safe inside a docstring and a Markdown table cell."""
    return text.replace("\\", "/").replace('"""', "'").replace("|", "/").replace("`", "'")


def _literal(value: Any, indent: int = 0) -> str:
    """A Python literal for a JSON-able value, indented for its place in the source."""
    text = pprint.pformat(value, width=100, sort_dicts=False)
    return textwrap.indent(text, " " * indent).lstrip() if indent else text


def _wait_text(model: ComponentModel) -> str:
    """The completion rule in words, for docstrings and README."""
    plan = model.wait
    if plan["status_field"]:
        ok = " or ".join(plan["success"])
        bad = " or ".join(plan["failure"])
        text = f"status.{plan['status_field']} is {ok}"
        return text + (f" ({bad} fails the task with the failure reason)" if bad else "")
    return "its ACK.ResourceSynced condition is True"


def _runtime_source() -> str:
    """The runtime's source, checked to be embeddable in a raw triple-quoted string."""
    source = RUNTIME_FILE.read_text(encoding="utf-8")
    if "'''" in source or source.rstrip().endswith("\\"):
        raise GeneratorError("runtime.py must not contain ''' (it is embedded in a r''' string)")
    return source


def render_module(model: ComponentModel, image: str, packages: tuple[str, ...]) -> str:
    """The component's Python source."""
    crd = model.crd
    table = model.runtime_table()
    params = [f"    {f.name}: {f.annotation}," if f.required else f"    {f.name}: {f.annotation} = None,"
              for f in model.inputs]
    params += [f"    {name}: {ann} = {default}," for name, (ann, default, _h) in RUNTIME_INPUTS.items()]
    outputs = [o.name for o in model.outputs] + ["ack_resource_arn", "resource_name"]
    args_doc = [f"        {f.name}: {_clean(f.description)}" + ("" if f.required else " (optional)")
                for f in model.inputs]
    args_doc += [f"        {name}: {_clean(h)}" for name, (_a, _d, h) in RUNTIME_INPUTS.items()]
    return _template("component.py.tpl").substitute(
        kind=crd.kind, summary=_clean(crd.summary), crd_file=crd.file_name, group=crd.group,
        version=crd.version, plural=crd.plural, wait_text=_wait_text(model),
        base_image=repr(image), packages=repr(list(packages)), table=_literal(table),
        table_indented=_literal(table, indent=4), function_name=model.function_name,
        params="\n".join(params), output_types="\n".join(f"    ({o!r}, str)," for o in outputs),
        args_doc="\n".join(args_doc), runtime=_runtime_source(),
        values="\n".join(f"        {f.name!r}: {f.name}," for f in model.inputs),
        output_names=repr(outputs),
    )


def render_request(model: ComponentModel) -> str:
    """The custom resource as YAML with $-placeholders; optional fields commented out."""
    lines = []
    for f in model.inputs:
        line = f"{f.key}: ${{{f.name}}}  # {f.schema_type}"
        lines.append(f"  {line}" if f.required else f"  # {line}, optional")
    crd = model.crd
    return _template("request.yaml.tpl").substitute(
        kind=crd.kind, crd_file=crd.file_name, group=crd.group, version=crd.version,
        spec_lines="\n".join(lines))


def render_readme(model: ComponentModel, image: str, packages: tuple[str, ...], module_file: str) -> str:
    """The component's README: inputs, runtime inputs and outputs."""
    import kfp
    crd = model.crd
    inputs = [f"| `{f.name}` | `{f.key}` | {f.schema_type} | {'yes' if f.required else 'no'} | "
              f"{_clean(f.description)} |" for f in model.inputs]
    runtime = [f"| `{n}` | {a} | `{d}` | {_clean(h)} |" for n, (a, d, h) in RUNTIME_INPUTS.items()]
    outputs = [f"| `{o.name}` | `{o.key}` | {_clean(o.description)} |" for o in model.outputs]
    outputs += ["| `ack_resource_arn` | `ackResourceMetadata.arn` | The SageMaker ARN, as a plain string "
                "(empty if ACK reported none). |",
                "| `resource_name` | `metadata.name` | The custom resource's name, as a plain string. |"]
    return _template("README.md.tpl").substitute(
        kind=crd.kind, summary=_clean(crd.summary), crd_file=crd.file_name, group=crd.group,
        version=crd.version, plural=crd.plural, wait_text=_wait_text(model), module_file=module_file,
        update_text=("; a same-named one with another spec is updated in place, as ACK updates "
                     "this kind" if model.runtime_table()["updatable"] else ""),
        kfp_version=kfp.__version__, image_text=image, packages_text=", ".join(f"`{p}`" for p in packages),
        input_rows="\n".join(inputs), runtime_rows="\n".join(runtime), output_rows="\n".join(outputs))


def generate(crd: CrdInfo, out_dir: Path, image: str | None = None) -> GeneratedComponent:
    """Generate the component for one CRD into out_dir/<Kind>/ and compile it with kfp.

    `image` replaces the default base image (python:3.11-slim); the runtime
    needs only the pinned kubernetes client, which KFP installs at start-up.
    """
    from kfp import compiler
    model = build_model(crd)
    image = image or DEFAULT_BASE_IMAGE
    directory = Path(out_dir) / crd.kind
    directory.mkdir(parents=True, exist_ok=True)
    stem = model.function_name.removeprefix("sagemaker_")
    module_path = directory / f"{stem}_component.py"
    module_path.write_text(render_module(model, image, RUNTIME_PACKAGES), encoding="utf-8")
    request = directory / "request.yaml.tpl"
    request.write_text(render_request(model), encoding="utf-8")
    readme = directory / "README.md"
    readme.write_text(render_readme(model, image, RUNTIME_PACKAGES, module_path.name), encoding="utf-8")
    component_yaml = directory / "component.yaml"
    try:
        component = getattr(import_module_from(module_path), model.function_name)
        compiler.Compiler().compile(component, str(component_yaml))
    except Exception as exc:  # a template bug must name the file, not die in kfp's internals
        raise GeneratorError(f"the generated {module_path} does not compile with kfp: {exc}") from exc
    return GeneratedComponent(
        kind=crd.kind, directory=directory, module_path=module_path, component_yaml=component_yaml,
        request_template=request, readme=readme, function_name=model.function_name, image=image,
        input_map={f.name: f.key for f in model.inputs},
        outputs=tuple(o.name for o in model.outputs) + ("ack_resource_arn", "resource_name"))
