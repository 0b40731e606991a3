"""The endpoint test's pieces: find the lab's endpoint, wait for it, send it digits, score the answers.

Everything goes through the target's real clients (boto3 ``sagemaker`` and ``sagemaker-runtime``,
the kubernetes client for the Endpoint custom resource), so the sandbox and AWS are one code path.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import time
from pathlib import Path

from wizard.aws.errors import error_code, explain as explain_aws
from wizard.errors import InputError, StepError
from wizard.protocol import Context, Reporter, cmd

ACK_GROUP = "sagemaker.services.k8s.aws"
ACK_VERSION = "v1alpha1"
#: how long to wait for InService; real endpoints take 5-10 minutes, so the default is generous
WAIT_TIMEOUT = float(os.environ.get("LABWIZ_ENDPOINT_TIMEOUT", "1800"))
POLL_SECONDS = 1.0


def find_endpoint(ctx: Context, reporter: Reporter, namespace: str | None) -> str:
    """The endpoint's name: from the run's outputs, else from an Endpoint custom resource."""
    name = ctx.outputs_of("run-monitoring").get("endpoint_name")
    if name:
        return name
    if not namespace:
        raise InputError("The pipeline run recorded no endpoint and no namespace is known.",
                         remediation="Run the credentials step first, or finish the run-monitoring step.")
    from wizard import k8s
    from wizard.ledger import LABEL_KEY

    reporter.command(cmd("kubectl", "get", f"endpoints.{ACK_GROUP}", "-n", namespace))
    try:
        items = ctx.clients.custom_objects().list_namespaced_custom_object(
            ACK_GROUP, ACK_VERSION, namespace, "endpoints").get("items", [])
    except k8s.api_exception() as exc:
        if exc.status == 404:  # the CRD is not installed
            items = []
        else:
            raise k8s.explain(exc, f"listing Endpoint resources in {namespace}") from None
    if not items:
        raise StepError(f"No endpoint was recorded by the pipeline run and there is no Endpoint "
                        f"custom resource in {namespace}.",
                        remediation="Run the pipeline first (labwiz run --from run-monitoring), or "
                        "check 'aws sagemaker list-endpoints'.")
    # prefer this lab's own endpoint (labelled with its lineage), then the newest one
    ours = [i for i in items if (i["metadata"].get("labels") or {}).get(LABEL_KEY) == ctx.ledger.lineage]
    chosen = sorted(ours or items, key=lambda i: i["metadata"].get("creationTimestamp", ""))[-1]
    name = (chosen.get("spec") or {}).get("endpointName") or chosen["metadata"]["name"]
    if len(items) > 1:
        reporter.log(f"{len(items)} Endpoint resources in {namespace}; using {name}.", "warning")
    return name


def wait_in_service(ctx: Context, reporter: Reporter, name: str, namespace: str | None = None,
                    timeout: float | None = None) -> dict:
    """Poll DescribeEndpoint until InService; a Failed endpoint or a timeout is a clear error."""
    sm = ctx.clients.aws("sagemaker")
    timeout = WAIT_TIMEOUT if timeout is None else timeout
    reporter.command(cmd("aws", "sagemaker", "wait", "endpoint-in-service", "--endpoint-name", name))
    started = time.monotonic()
    last = None
    while True:
        elapsed = time.monotonic() - started
        try:
            described = sm.describe_endpoint(EndpointName=name)
        except Exception as exc:  # noqa: BLE001
            if error_code(exc) != "ValidationException":
                raise explain_aws(exc, f"describing endpoint {name}") from None
            # not in SageMaker yet: fine while its custom resource waits for the ACK controller
            problem = _pending_resource_problem(ctx, namespace, name)
            if problem is None:
                raise StepError(f"There is no SageMaker endpoint named {name}.",
                                remediation="Check 'aws sagemaker list-endpoints'; rerun the "
                                "pipeline (labwiz run --from run-monitoring) to create it.") from None
            if problem:
                raise StepError(f"The ACK controller cannot create the endpoint {name}: {problem}",
                                remediation=f"'kubectl describe endpoints.{ACK_GROUP} -n {namespace}' "
                                "shows the resource; fix its spec or the controller's access, "
                                "then rerun the pipeline.") from None
            if elapsed > timeout:
                raise StepError(f"The ACK controller has not created the endpoint {name} after "
                                f"{int(elapsed)} s.",
                                remediation="Check the controller runs: 'kubectl get pods -n "
                                "ack-system'.") from None
            if last != "pending":
                reporter.log(f"Endpoint {name}: waiting for the ACK controller to create it.")
                last = "pending"
            reporter.progress(f"endpoint {name}: pending", elapsed, None, "s")
            time.sleep(POLL_SECONDS)
            continue
        status = described["EndpointStatus"]
        if status != last:
            reporter.log(f"Endpoint {name}: {status}.")
            last = status
        if status == "InService":
            reporter.progress(f"endpoint {name}", 1, 1)
            return described
        if status in ("Failed", "OutOfService", "Deleting"):
            reason = described.get("FailureReason") or "SageMaker gave no reason"
            raise StepError(f"The endpoint {name} is {status}: {reason}",
                            remediation=f"Read its logs ('aws logs tail /aws/sagemaker/Endpoints/"
                            f"{name}'), fix the cause (instance quota, model data, role), delete the "
                            "endpoint and rerun the pipeline (labwiz run --from run-monitoring).")
        if elapsed > timeout:
            raise StepError(f"The endpoint {name} is still {status} after {int(elapsed)} s.",
                            remediation="It may still come up: run 'aws sagemaker describe-endpoint "
                            f"--endpoint-name {name}' and resume later with 'labwiz run'.")
        reporter.progress(f"endpoint {name}: {status}", elapsed, None, "s")
        time.sleep(POLL_SECONDS)


def _pending_resource_problem(ctx: Context, namespace: str | None, name: str) -> str | None:
    """For an endpoint SageMaker does not know: None when no Endpoint custom resource names it,
    its terminal condition's message when the controller gave up, else '' (still pending)."""
    if not namespace:
        return None
    from wizard import k8s

    try:
        items = ctx.clients.custom_objects().list_namespaced_custom_object(
            ACK_GROUP, ACK_VERSION, namespace, "endpoints").get("items", [])
    except k8s.api_exception():
        return None
    for item in items:
        if ((item.get("spec") or {}).get("endpointName") or item["metadata"]["name"]) != name:
            continue
        for cond in (item.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "ACK.Terminal" and cond.get("status") == "True":
                return cond.get("message") or "ACK.Terminal"
        return ""
    return None


def load_test_digits(ctx: Context, reporter: Reporter, count: int) -> tuple[list, list]:
    """``count`` digits and labels from the test split of the lab's ``mnist.pkl.gz``."""
    path = Path(ctx.state_dir) / "data" / "mnist.pkl.gz"
    if not path.exists():
        uri = ctx.outputs_of("data-upload").get("data_uri")
        if not uri:
            raise InputError("mnist.pkl.gz is neither cached locally nor recorded in S3.",
                             remediation="Run the data-upload step first (labwiz run --only data-upload).")
        bucket, key = uri[5:].split("/", 1)
        reporter.command(cmd("aws", "s3", "cp", uri, str(path)))
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            ctx.clients.aws("s3").download_file(bucket, key, str(path))
        except Exception as exc:  # noqa: BLE001
            path.unlink(missing_ok=True)
            raise explain_aws(exc, f"downloading {uri}") from None
    with gzip.open(path, "rb") as fh:
        _train, _valid, test = pickle.load(fh, encoding="latin1")
    images, labels = test
    n = min(count, len(images))
    return [[float(v) for v in images[i]] for i in range(n)], [int(labels[i]) for i in range(n)]


def to_csv(rows: list[list[float]]) -> str:
    """Rows as CSV lines, zeros written short (most MNIST pixels are blank)."""
    return "\n".join(",".join("0" if v == 0 else format(v, ".4g") for v in row) for row in rows)


def invoke(ctx: Context, reporter: Reporter, name: str, rows: list[list[float]]) -> list[dict]:
    """Send the rows as ``text/csv``; return SageMaker k-means' predictions, one per row."""
    body = to_csv(rows)
    sample = Path(ctx.state_dir) / "data" / "digit.csv"
    sample.parent.mkdir(parents=True, exist_ok=True)
    sample.write_text(to_csv(rows[:1]) + "\n")  # so the learner can run the command below
    reporter.command(cmd("aws", "sagemaker-runtime", "invoke-endpoint", "--endpoint-name", name,
                         "--content-type", "text/csv", "--body", f"fileb://{sample}", "out.json"))
    runtime = ctx.clients.aws("sagemaker-runtime")
    try:
        answer = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv",
                                         Accept="application/json", Body=body.encode())
    except Exception as exc:  # noqa: BLE001
        code = error_code(exc)
        if code in ("AccessDeniedException", "AccessDenied"):
            raise StepError(f"You may not invoke the endpoint {name}: {exc}",
                            remediation="Your identity needs sagemaker:InvokeEndpoint. The "
                            "credentials step grants it when you confirm (labwiz run --from "
                            "credentials), or attach a policy allowing it yourself.") from None
        if code == "ModelError":
            raise StepError(f"The model behind {name} could not read the digits: {exc}",
                            remediation="Check the model is the lab's k-means on 784 features.") from None
        raise explain_aws(exc, f"invoking endpoint {name}") from None
    payload = json.loads(answer["Body"].read())
    predictions = payload.get("predictions") if isinstance(payload, dict) else None
    if not isinstance(predictions, list) or len(predictions) != len(rows):
        raise StepError(f"The endpoint {name} answered {len(predictions or [])} predictions for "
                        f"{len(rows)} digits.",
                        remediation="Check the endpoint serves the lab's k-means model.")
    return [{"cluster": int(p["closest_cluster"]), "distance": float(p["distance_to_cluster"])}
            for p in predictions]


def cluster_table(labels: list[int], clusters: list[int]) -> tuple[dict, float]:
    """Counts of true labels per cluster, and the purity (share of digits in their cluster's
    majority label)."""
    table: dict[int, dict[int, int]] = {}
    for label, cluster in zip(labels, clusters):
        row = table.setdefault(cluster, {})
        row[label] = row.get(label, 0) + 1
    majority = sum(max(row.values()) for row in table.values())
    return table, (majority / len(labels) if labels else 0.0)


def table_view(table: dict, purity: float, total: int) -> dict:
    """``reporter.show("table", ...)`` data: clusters down, true labels across."""
    rows = []
    for cluster in sorted(table):
        row = table[cluster]
        top = max(row, key=row.get)
        rows.append([cluster, *[row.get(d, "") for d in range(10)], sum(row.values()), top,
                     f"{row[top] / sum(row.values()):.0%}"])
    # printed output (headless, plain) reads the table's gist: each cluster's most common digit
    brief = f"Over {total} test digits, each cluster → the digit it mostly holds (share): " + ", ".join(
        f"c{r[0]}→{r[-2]} ({r[-1]})" for r in rows) + "."
    return {"title": f"Cluster vs true label over {total} test digits (purity {purity:.2f})",
            "columns": ["cluster", *[str(d) for d in range(10)], "n", "mostly", "share"],
            "rows": rows, "brief": brief}
