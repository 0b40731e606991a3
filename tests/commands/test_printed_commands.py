"""Every aws, kubectl and kfp command a whole sandbox lab printed runs with the real CLI.

The lab ran from an empty sandbox to cleaned up (the e2e module's fixture, run again here). Its
``commands/STEP.sh`` files and its ``labwiz run --explain`` output are then run line by line,
as printed, with the sandbox's environment (``labwiz sandbox env``) and the real aws CLI,
kubectl and kfp CLI. None may fail on usage; failures caused by state (what cleanup deleted,
placeholders) are allowed. The negative cases prove the check catches a real bad option.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from tests.commands.printed import (checked, commands_of_explain, commands_of_script,
                                    explain_sections, run_printed, verb)
from tests.conftest import labwiz_env, run_labwiz
from tests.e2e.test_whole_lab import finished_lab  # noqa: F401 - the module's whole lab

#: the module's fixture runs a whole lab and then every printed command (about a hundred CLI
#: starts): a generous bound for a loaded machine, not a speed target
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

STEP_ORDER = ("credentials", "data-upload", "crd-selection", "component-generation", "compile",
              "upload", "run-monitoring", "endpoint-test", "cleanup")


def _env(state: Path) -> dict:
    """The sandbox's environment as 'labwiz sandbox env' gives it, with the venv's CLIs."""
    result = run_labwiz(["--state-dir", str(state), "sandbox", "env", "--json"])
    assert result.returncode == 0, result.stdout + result.stderr
    env = labwiz_env(json.loads(result.stdout))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def _env_no_sandbox() -> dict:
    """A plain environment with the venv's CLIs (for the negative cases that need no service)."""
    env = labwiz_env()
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


@pytest.fixture(scope="module")
def printed(finished_lab, tmp_path_factory):  # noqa: F811 - the imported fixture
    """Every checked command of the lab's scripts, then of --explain, run in lab order."""
    state, result, _ = finished_lab
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    env = _env(state)
    cwd = tmp_path_factory.mktemp("learner-cwd")
    scripts = sorted((state / "commands").glob("*.sh"),
                     key=lambda p: STEP_ORDER.index(p.stem) if p.stem in STEP_ORDER else 99)
    scripts = [p for p in scripts if not p.name.endswith(".plan.sh")]
    yaml_path = state / "pipeline" / "mnist_classification_pipeline.yaml"
    compiled_sha = hashlib.sha256(yaml_path.read_bytes()).hexdigest()
    outcomes = []
    for script in scripts:
        for line in checked(commands_of_script(script)):
            outcomes.append(run_printed(line, script.name, env=env, cwd=cwd))
    explain = run_labwiz(["--state-dir", str(state), "run", "--sandbox", "--explain"],
                         env={"COLUMNS": "1000"})
    assert explain.returncode == 0, explain.stdout + explain.stderr
    explained = checked(commands_of_explain(explain.stdout))
    for line in explained:
        outcomes.append(run_printed(line, "--explain", env=env, cwd=cwd))
    return {"outcomes": outcomes, "scripts": [p.name for p in scripts], "explained": explained,
            "explain_stdout": explain.stdout,
            "state": state, "compiled_sha": compiled_sha, "yaml_path": yaml_path}


def test_no_printed_command_fails_on_usage(printed):
    bad = [o.describe() for o in printed["outcomes"] if o.usage_error]
    assert not bad, "printed commands the real CLIs refuse:\n\n" + "\n\n".join(bad)


def test_the_check_covered_every_step_and_every_cli(printed):
    assert {"credentials.sh", "data-upload.sh", "compile.sh", "upload.sh"} <= set(printed["scripts"])
    tools = {o.tool for o in printed["outcomes"]}
    assert tools == {"aws", "kubectl", "kfp"}, tools
    sources = {o.source for o in printed["outcomes"]}
    assert "--explain" in sources and len(printed["explained"]) >= 20
    # most commands really succeed; a check where everything fails on state proves little
    succeeded = [o for o in printed["outcomes"] if o.returncode == 0]
    assert len(succeeded) >= len(printed["outcomes"]) // 2, \
        "\n\n".join(o.describe() for o in printed["outcomes"] if o.returncode)


@pytest.mark.parametrize("step", ["credentials", "data-upload", "compile", "upload"])
def test_explain_plans_what_the_run_did(printed, step):
    """--explain and the run share their command builders: every kind of command a step ran
    (``aws iam create-role``, ``kfp pipeline create``...) is in its plan too."""
    ran = {verb(line) for line in checked(commands_of_script(
        printed["state"] / "commands" / f"{step}.sh"))}
    planned = {verb(line) for line in checked(explain_sections(printed["explain_stdout"])[step])}
    assert ran and ran <= planned, f"run only: {sorted(ran - planned)}"


def test_the_pipeline_source_compiles_by_hand_to_the_same_spec(printed):
    lines = [o for o in printed["outcomes"] if o.line.startswith("kfp dsl compile")]
    assert lines and all(o.returncode == 0 for o in lines), "\n".join(o.describe() for o in lines)
    now = hashlib.sha256(printed["yaml_path"].read_bytes()).hexdigest()
    assert now == printed["compiled_sha"], "the hand-compiled spec differs from the wizard's"


def test_the_seed_paths_answer_in_the_sandbox(printed):
    """The lab text's own asset download and ingress look-up work against the sandbox."""
    env = _env(printed["state"])
    cwd = printed["state"].parent
    got = run_printed("aws s3 cp s3://ee-assets-prod-eu-west-1/modules/cb9c6461a4f440c69d8681bc5a2"
                      "975a1/v1/lab1/mnist.pkl.gz .", "seed", env=env, cwd=cwd)
    assert got.returncode == 0, got.describe()
    assert (cwd / "mnist.pkl.gz").stat().st_size > 100_000
    ingress = run_printed("kubectl get ingress -n istio-system", "seed", env=env, cwd=cwd)
    assert ingress.returncode == 0, ingress.describe()
    kfp_host = env["KF_PIPELINES_ENDPOINT"].split("//", 1)[1].split(":")[0]
    assert "istio-ingress" in ingress.output and kfp_host in ingress.output, ingress.output
    port = run_printed("kubectl get ingress -n istio-system istio-ingress -o "
                       "jsonpath='{.status.loadBalancer.ingress[0].ports[0].port}'", "seed",
                       env=env, cwd=cwd)
    assert port.output.strip() == env["KF_PIPELINES_ENDPOINT"].rsplit(":", 1)[1], port.describe()
    # what the real TrainingJob CRD refuses, the sandbox refuses too
    refused = run_printed("kubectl apply -n kubeflow-user-example-com -f - <<'EOF'\n"
                          "apiVersion: sagemaker.services.k8s.aws/v1alpha1\nkind: TrainingJob\n"
                          "metadata: {name: no-algorithm}\nspec:\n  trainingJobName: no-algorithm\n"
                          "  roleARN: arn:aws:iam::123456789012:role/x\n"
                          "  outputDataConfig: {s3OutputPath: 's3://b/o'}\nEOF", "seed",
                          env=env, cwd=cwd)
    assert refused.returncode not in (0, None), refused.describe()
    for field in ("algorithmSpecification", "resourceConfig", "stoppingCondition"):
        assert field in refused.output, refused.describe()


@pytest.mark.parametrize("line", [
    "aws s3api head-bucket --bucket some-bucket --no-such-option x",
    "aws iam get-role",
    "aws s3 cp ./no-such-file.txt s3://some-bucket/x",
    "aws s3api head-bucket --bucket '$AWS_S3_BUCKET_NAME'",
    "kubectl get pods --no-such-flag",
    "kfp dsl compile --py ./no-such-pipeline.py --output out.yaml",
])
def test_a_bad_command_line_is_caught(line, tmp_path):
    """Without a service: the CLIs refuse these before calling anything."""
    got = run_printed(line, "negative", env=_env_no_sandbox(), cwd=tmp_path)
    assert got.usage_error, got.describe()


def test_an_unknown_kfp_option_is_caught_and_a_state_failure_is_not(printed):
    """kfp checks a subcommand's options only once it reached KFP: run against the sandbox."""
    env = _env(printed["state"])
    cwd = printed["state"].parent
    bad = run_printed("kfp experiment create --namespace kubeflow-user-example-com x", "negative",
                      env=env, cwd=cwd)
    assert bad.usage_error, bad.describe()
    missing = run_printed("aws iam get-role --role-name no-such-role-anywhere", "negative",
                          env=env, cwd=cwd)
    assert missing.returncode not in (0, None) and not missing.usage_error, missing.describe()
