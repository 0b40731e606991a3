"""The whole lab, as `make demo` runs it: an empty sandbox through all nine steps to cleaned up,
then every command it printed, run with the real CLIs.

Before the lab runs, the account gets a few things of the learner's own (a bucket with an object,
an IAM role and a managed policy): cleanup must leave them, and everything the wizard made must
be gone afterwards, counted through the APIs.

The same finished lab then has its ``commands/STEP.sh`` files and its ``labwiz run --explain``
output run line by line, as printed, with the sandbox's environment (``labwiz sandbox env``) and
the real aws CLI, kubectl and kfp CLI. None may fail on usage; failures caused by state (what
cleanup deleted, placeholders) are allowed. The negative cases prove the check catches a real bad
option. One module, so the lab runs once: the tests that read what cleanup left come first (pytest
runs a module's tests in file order), the printed commands, which may create things again, after.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path

import pytest

from tests.commands.printed import (checked, commands_of_explain, commands_of_script,
                                    explain_sections, run_all, run_printed, verb)
from tests.conftest import ROOT, labwiz_env, run_labwiz

#: the module runs a whole lab and then every printed command (about seventy distinct CLI starts): a
#: generous bound for a loaded machine, not a speed target
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

#: what the learner had before the lab (names no lab step uses)
OWN_BUCKET = "learner-own-bucket-e2e"
OWN_KEY = "notes/keep-me.txt"
OWN_ROLE = "learner-own-role"
OWN_POLICY = "learner-own-policy"
#: the headless transcript's checks (issue 19): the step headers and the bound on its length
STEP_TITLES = ["Credentials", "Data upload", "CRD selection", "Component generation", "Compile",
               "Upload", "Run monitoring", "Endpoint test", "Cleanup"]
MAX_LINES = 200
LAB_KINDS = ("processingjobs", "hyperparametertuningjobs", "trainingjobs", "models",
             "endpointconfigs", "endpoints", "transformjobs")


def _aws(info: dict):
    """A boto3 client factory on the sandbox."""
    import boto3

    def client(service):
        """A client for ``service``."""
        return boto3.client(service, endpoint_url=info["services"]["aws"]["url"],
                            region_name=info["region"], aws_access_key_id="testing",
                            aws_secret_access_key="testing")
    return client


def _learner_owns(aws, region: str) -> str:
    """Create the learner's own bucket, object, role and policy; the policy's ARN."""
    s3 = aws("s3")
    s3.create_bucket(Bucket=OWN_BUCKET, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_object(Bucket=OWN_BUCKET, Key=OWN_KEY, Body=b"not the wizard's")
    iam = aws("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "sagemaker.amazonaws.com"}}]}
    iam.create_role(RoleName=OWN_ROLE, AssumeRolePolicyDocument=json.dumps(trust),
                    Tags=[{"Key": "team", "Value": "learners"}])
    policy = iam.create_policy(PolicyName=OWN_POLICY, PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket",
                                                "Resource": f"arn:aws:s3:::{OWN_BUCKET}"}]}))
    iam.attach_role_policy(RoleName=OWN_ROLE, PolicyArn=policy["Policy"]["Arn"])
    return policy["Policy"]["Arn"]


@pytest.fixture(scope="module")
def finished_lab(tmp_path_factory):
    """A lab run once from scratch with `labwiz run --sandbox --yes`; the sandbox stays up."""
    state = tmp_path_factory.mktemp("whole-lab") / "lab"  # docs/transcript.md shows …/lab/…
    up = run_labwiz(["--state-dir", str(state), "sandbox", "up"], timeout=180)
    assert up.returncode == 0, up.stdout + up.stderr
    info = json.loads((state / "sandbox" / "sandbox.json").read_text())
    own_policy_arn = _learner_owns(_aws(info), info["region"])
    # in a pipe at 100 columns: its output is also the headless transcript checked below
    result = run_labwiz(["--state-dir", str(state), "run", "--sandbox", "--yes"], timeout=900,
                        env={"COLUMNS": "100"})
    yield state, result, own_policy_arn
    run_labwiz(["--state-dir", str(state), "sandbox", "down"], timeout=120)


def test_all_nine_steps_done_and_predictions_printed(finished_lab):
    state, result, _ = finished_lab
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    doc = json.loads((state / "state.json").read_text())
    assert [doc["steps"][s]["status"] for s in doc["steps"]] == ["done"] * 9
    assert "label" in result.stdout and "cluster" in result.stdout and "purity" in result.stdout.lower()
    endpoint = doc["steps"]["endpoint-test"]["outputs"]
    assert endpoint["predictions"]["count"] > 0
    assert endpoint["purity"] > 0.3, "k-means on handwritten digits should beat chance (0.1) clearly"


def test_headless_lab_transcript(finished_lab):
    """Nine step headers in order, a result line each, the summary, each log line once, no
    monitoring table, and each step's commands in the file its end names."""
    state, result, _ = finished_lab
    out = result.stdout
    if os.environ.get("LABWIZ_UPDATE_TRANSCRIPT"):
        _write_transcript(out.replace(str(state), "/tmp/lab"))
    assert result.returncode == 0, out[-3000:] + result.stderr[-2000:]
    lines = out.splitlines()
    headers = [line.split(" — ")[0] for line in lines if re.match(r"Step \d of 9 · ", line)]
    assert headers == [f"Step {n} of 9 · {title}" for n, title in enumerate(STEP_TITLES, 1)]
    for title in STEP_TITLES:
        assert re.search(rf"^✔ {re.escape(title)} done in ", out, re.M), title
    summary = out[out.index("Summary"):]
    for title in STEP_TITLES:
        assert title in summary
    assert "Endpoint: " in summary and "removed by cleanup" in summary
    # monitoring printed changes only: no status table, no log line twice
    tails = [line for line in lines if " │ " in line]
    assert len(tails) == len(set(tails)), "a log line was printed twice"
    assert not any(line.startswith("kind ") for line in lines), "a resources table was printed"
    # every command was shown (short) and is kept whole in the file the step's end names
    for step in ("credentials", "component-generation", "cleanup"):
        assert f"commands/{step}.sh" in out, step
        assert (state / "commands" / f"{step}.sh").stat().st_size > 0
    generate = [line for line in lines if line.startswith("$ labwiz generate")]
    assert len(generate) == 1 and "{" in generate[0], "seven alike commands print as one line"


def test_headless_lab_under_200_lines_at_100_columns(finished_lab):
    """The issue's bound: a whole sandbox lab under 200 lines, counted wrapped at 100 columns,
    with its nine step headers and the closing summary in it."""
    _, result, _ = finished_lab
    lines = result.stdout.splitlines()
    wrapped = sum(max(1, -(-len(line) // 100)) for line in lines)
    assert wrapped < MAX_LINES, f"{wrapped} lines at 100 columns"
    headers = [line.split(" — ")[0] for line in lines if re.match(r"Step \d of 9 · ", line)]
    assert headers == [f"Step {n} of 9 · {title}" for n, title in enumerate(STEP_TITLES, 1)]
    summary = lines[next(i for i, line in enumerate(lines) if line.startswith("Summary")):]
    assert [line.split()[1] for line in summary if re.match(r"\d  +[A-Z]", line)] == \
        [title.split()[0] for title in STEP_TITLES]
    assert any(line.startswith("Endpoint: ") for line in summary)
    assert summary[-1].startswith("All steps done")


def _write_transcript(text: str) -> None:
    """Keep the transcript in the docs (asked for with LABWIZ_UPDATE_TRANSCRIPT=1)."""
    (ROOT / "docs" / "transcript.md").write_text(
        "# A whole sandbox lab, headless\n\n"
        "The real output of `labwiz --state-dir /tmp/lab run --sandbox --yes` in a pipe at 100 "
        "columns (written by `tests/e2e/test_whole_lab.py` with `LABWIZ_UPDATE_TRANSCRIPT=1`; "
        "the temporary state directory is shown as `/tmp/lab`). On a terminal the same lines are "
        "printed, with progress bars and the monitoring picture redrawn in place below them.\n\n"
        f"```text\n{text.rstrip()}\n```\n", encoding="utf-8")


def _iam_missing(call, **kwargs) -> bool:
    """Whether an IAM read says the entity does not exist."""
    try:
        call(**kwargs)
    except Exception as exc:  # noqa: BLE001
        return getattr(exc, "response", {}).get("Error", {}).get("Code") == "NoSuchEntity"
    return False


def test_nothing_of_the_lab_left_after_cleanup(finished_lab):
    state, result, own_policy_arn = finished_lab
    assert result.returncode == 0
    info = json.loads((state / "sandbox" / "sandbox.json").read_text())
    doc = json.loads((state / "state.json").read_text())
    lineage = doc["lineage"]
    from kubernetes import client, config

    aws = _aws(info)

    # SageMaker: nothing billable, nothing still running.
    sm = aws("sagemaker")
    assert sm.list_endpoints()["Endpoints"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert sm.list_models()["Models"] == []
    for op, key in (("list_training_jobs", "TrainingJobSummaries"),
                    ("list_processing_jobs", "ProcessingJobSummaries"),
                    ("list_transform_jobs", "TransformJobSummaries"),
                    ("list_hyper_parameter_tuning_jobs", "HyperParameterTuningJobSummaries")):
        assert getattr(sm, op)(StatusEquals="InProgress")[key] == [], op

    # Kubernetes: none of the seven lab kinds in any namespace.
    configuration = client.Configuration()
    config.load_kube_config(config_file=info["kubeconfig"], client_configuration=configuration)
    custom = client.CustomObjectsApi(client.ApiClient(configuration))
    for plural in LAB_KINDS:
        items = custom.list_cluster_custom_object("sagemaker.services.k8s.aws", "v1alpha1", plural)
        assert items["items"] == [], plural

    # IAM, by tag: no role, user or customer managed policy carries this lab's lineage.
    iam = aws("iam")

    def tagged(tags) -> bool:
        """Whether IAM tags carry this lab's lineage."""
        return {t["Key"]: t["Value"] for t in tags or []}.get("labwiz:lineage") == lineage
    roles = [r["RoleName"] for p in iam.get_paginator("list_roles").paginate() for r in p["Roles"]]
    users = [u["UserName"] for p in iam.get_paginator("list_users").paginate() for u in p["Users"]]
    policies = [x["Arn"] for p in iam.get_paginator("list_policies").paginate(Scope="Local")
                for x in p["Policies"]]
    assert [r for r in roles if tagged(iam.list_role_tags(RoleName=r).get("Tags"))] == []
    assert [u for u in users if tagged(iam.list_user_tags(UserName=u).get("Tags"))] == []
    assert [a for a in policies if tagged(iam.list_policy_tags(PolicyArn=a).get("Tags"))] == []

    # IAM, by ledger: every role, user, key and policy the wizard recorded is gone.
    rows = [r for r in doc["ledger"] if r["kind"].startswith("iam-")]
    assert "iam-role" in {r["kind"] for r in rows}, "the lab should have created IAM roles"
    for row in rows:
        name, kind = row["name"], row["kind"]
        if kind == "iam-role":
            assert _iam_missing(iam.get_role, RoleName=name), name
        elif kind == "iam-user":
            assert _iam_missing(iam.get_user, UserName=name), name
        elif kind == "iam-access-key":
            user = row["details"]["user"]
            assert _iam_missing(iam.list_access_keys, UserName=user) or name not in {
                k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}
        elif row.get("arn") and ":policy/" in row["arn"]:
            assert row["arn"] not in policies, row["arn"]
        else:  # an inline policy, named on/entity/policy
            on, entity, policy = (row["details"].get(k) for k in ("on", "entity", "policy"))
            on, entity, policy = (on or name.split("/")[0], entity or name.split("/")[1],
                                  policy or name.split("/")[2])
            getter = iam.get_user_policy if on == "user" else iam.get_role_policy
            key = "UserName" if on == "user" else "RoleName"
            assert _iam_missing(getter, **{key: entity, "PolicyName": policy}), name
    assert all(row["deleted_at"] for row in doc["ledger"]), "every ledger row is marked deleted"

    # What existed before the lab is still there, untouched.
    assert "SageMakerExecutionRole" in roles
    assert OWN_ROLE in roles and own_policy_arn in policies
    attached = iam.list_attached_role_policies(RoleName=OWN_ROLE)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [own_policy_arn]
    s3 = aws("s3")
    s3.head_bucket(Bucket=info["bucket"])
    assert s3.get_object(Bucket=OWN_BUCKET, Key=OWN_KEY)["Body"].read() == b"not the wizard's"


# --- every command the lab printed, run with the real CLIs -----------------------------------

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
def printed(finished_lab, tmp_path_factory):
    """Every checked command of the lab's scripts, then of --explain, run in lab order (a line
    printed again word for word runs once: :func:`run_all`)."""
    state, result, _ = finished_lab
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    env = _env(state)
    cwd = tmp_path_factory.mktemp("learner-cwd")
    scripts = sorted((state / "commands").glob("*.sh"),
                     key=lambda p: STEP_ORDER.index(p.stem) if p.stem in STEP_ORDER else 99)
    scripts = [p for p in scripts if not p.name.endswith(".plan.sh")]
    yaml_path = state / "pipeline" / "mnist_classification_pipeline.yaml"
    compiled_sha = hashlib.sha256(yaml_path.read_bytes()).hexdigest()
    outcomes, ran = [], {}
    for script in scripts:
        outcomes += run_all(checked(commands_of_script(script)), script.name, env=env, cwd=cwd,
                            ran=ran)
    explain = run_labwiz(["--state-dir", str(state), "run", "--sandbox", "--explain"],
                         env={"COLUMNS": "1000"})
    assert explain.returncode == 0, explain.stdout + explain.stderr
    explained = checked(commands_of_explain(explain.stdout))
    outcomes += run_all(explained, "--explain", env=env, cwd=cwd, ran=ran)
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
    # (counted over the commands run, not over repeats standing in for a command run earlier)
    runs = [o for o in printed["outcomes"] if not o.reused]
    succeeded = [o for o in runs if o.returncode == 0]
    assert len(succeeded) >= len(runs) // 2, "\n\n".join(o.describe() for o in runs if o.returncode)


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
