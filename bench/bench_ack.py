"""Benchmark the sandbox ACK: CRD derivation time, conversion speed, fidelity figures.

Prints one JSON object per figure (see bench.common). Run: ``.venv/bin/python -m bench.bench_ack``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL_DIR = ROOT.parent / "shared" / "ack-crds" / "v1.9.1"


def _cold_derive_seconds() -> float:
    """Derivation of the lab's CRDs in a fresh interpreter (botocore model load included)."""
    code = ("import time; t=time.perf_counter(); from wizard.sandbox.ack import derive_crds; "
            "derive_crds(); print(time.perf_counter()-t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120)
    return float(out.stdout.strip())


def _import_seconds() -> float:
    """Importing the package (what the CLI pays at start-up if it imports it)."""
    code = ("import time; t=time.perf_counter(); import wizard.sandbox.ack; "
            "print(time.perf_counter()-t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=60)
    return float(out.stdout.strip())


def main() -> int:
    """Measure and print the figures."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests" / "ack"))
    from ack_samples import all_samples

    from wizard.sandbox.ack.convert import spec_to_request
    from wizard.sandbox.ack.crds import derive_crds
    from wizard.sandbox.ack.fidelity import fidelity_report
    from wizard.sandbox.ack.resources import LAB_KINDS

    figures: dict[str, object] = {}
    figures["import_s"] = round(_import_seconds(), 4)
    figures["derive_lab_cold_s"] = round(_cold_derive_seconds(), 3)
    derive_crds()
    warm = []
    for _ in range(5):
        t = time.perf_counter()
        crds = derive_crds()
        warm.append(time.perf_counter() - t)
    figures["derive_lab_warm_s"] = round(statistics.median(warm), 4)
    figures["crd_json_bytes"] = sum(len(json.dumps(c)) for c in crds)
    samples = all_samples()
    t = time.perf_counter()
    rounds = 200
    for _ in range(rounds):
        for sample in samples:
            spec_to_request(sample["kind"], sample["spec"])
    figures["spec_to_request_us"] = round((time.perf_counter() - t) / (rounds * len(samples))
                                          * 1e6, 1)
    if REAL_DIR.is_dir():
        report = fidelity_report(crds, REAL_DIR)
        figures["fidelity_min_spec"] = min(report[k]["spec"] for k in LAB_KINDS)
        figures["fidelity_min_status"] = min(report[k]["status"] for k in LAB_KINDS)
        figures["precision_min_spec"] = round(
            min(report[k]["spec_precision"] for k in LAB_KINDS), 4)
        figures["precision_min_status"] = round(
            min(report[k]["status_precision"] for k in LAB_KINDS), 4)
        figures["fidelity_min_spec_deep"] = round(min(report[k]["spec_deep"] for k in LAB_KINDS), 4)
        figures["fidelity_min_status_deep"] = round(
            min(report[k]["status_deep"] for k in LAB_KINDS), 4)
    try:
        figures.update(_controller_figures())
    except ImportError as exc:  # the API server or SageMaker app is not present
        figures["controller"] = f"skipped: {exc}"
    _report(figures)
    return 0


#: figure key -> (what it is, unit, target)
LABELS = {
    "import_s": ("import wizard.sandbox.ack", "s", ""),
    "derive_lab_cold_s": ("derive the lab's CRDs from botocore, fresh interpreter", "s", ""),
    "derive_lab_warm_s": ("derive the lab's CRDs, warm", "s", ""),
    "crd_json_bytes": ("size of the derived CRDs as JSON", "B", ""),
    "spec_to_request_us": ("custom resource spec to SageMaker request", "us", ""),
    "fidelity_min_spec": ("fidelity to ACK v1.9.1, top-level spec fields, worst lab kind", "%",
                          ">= 95"),
    "fidelity_min_status": ("fidelity to ACK v1.9.1, top-level status fields, worst lab kind",
                            "%", ">= 95"),
    "precision_min_spec": ("derived top-level spec fields that real ACK v1.9.1 also has, worst "
                           "lab kind", "%", ""),
    "precision_min_status": ("derived top-level status fields that real ACK v1.9.1 also has, "
                             "worst lab kind", "%", ""),
    "fidelity_min_spec_deep": ("fidelity to ACK v1.9.1, nested spec fields, worst lab kind", "%",
                               ""),
    "fidelity_min_status_deep": ("fidelity to ACK v1.9.1, nested status fields, worst lab kind",
                                 "%", ""),
    "install_crds_s": ("install the ACK CRDs into the API server", "s", ""),
    "create_to_arn_s": ("TrainingJob resource created until its ARN is in status", "s", ""),
    "create_to_completed_s": ("TrainingJob resource created until Completed (0.5 s phases)",
                              "s", ""),
    "job_end_to_status_s": ("SageMaker job end until the resource says so", "s", ""),
    "model_synced_s": ("Model resource created until ACK.ResourceSynced", "s", ""),
}


def _report(figures: dict) -> None:
    """Print the figures in the shared format."""
    from bench.common import report

    for key, value in figures.items():
        if key not in LABELS or not isinstance(value, (int, float)):
            continue
        metric, unit, target = LABELS[key]
        if unit == "%" and value <= 1:
            value *= 100  # fidelity is a share
        report(metric, value, unit, target)
    if isinstance(figures.get("controller"), str):
        print(figures["controller"], file=sys.stderr)


def _controller_figures() -> dict[str, float]:
    """Latencies of the controller against the sandbox's real servers.

    ``create_to_arn_s``: a TrainingJob resource created until its ARN is in status.
    ``job_end_to_status_s``: SageMaker's end of the job until the resource says Completed.
    ``model_synced_s``: a Model resource created until ACK.ResourceSynced is True.
    """
    import os
    import tempfile

    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    import boto3
    from kubernetes import client, config

    from wizard.kmeans_images import kmeans_image_uri
    from wizard.sandbox.ack import AckController, install_crds
    from wizard.sandbox.aws.provision import provision
    from wizard.sandbox.aws.sagemaker import make_sagemaker_app
    from wizard.sandbox.aws.server import AwsServer
    from wizard.sandbox.kube import KubeApiServer, write_kubeconfig

    sys.path.insert(0, str(ROOT / "tests" / "ack"))
    from ack_samples import model, training_job

    region, ns, group = "eu-west-1", "default", ("sagemaker.services.k8s.aws", "v1alpha1")
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        aws = AwsServer(root / "aws")
        aws.start()
        account = provision(aws, region)
        aws.attach_sagemaker(make_sagemaker_app(root / "sm", aws.url, region, None, delay=0.5))
        kube = KubeApiServer(root / "kube")
        kube.start()
        kubeconfig = root / "kubeconfig"
        write_kubeconfig(kubeconfig, kube.url, kube.admin_token, "kf-sm-workshop", ns, "admin")
        t = time.perf_counter()
        install_crds(kubeconfig)
        out["install_crds_s"] = round(time.perf_counter() - t, 3)
        s3 = boto3.client("s3", endpoint_url=aws.url, region_name=region,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        sm = boto3.client("sagemaker", endpoint_url=aws.url, region_name=region,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        rows = "\n".join(f"{i % 3},{(i * 7) % 5},{i % 2},{(i * 3) % 4}" for i in range(150))
        s3.put_object(Bucket=account.bucket, Key="bench/train/train.csv", Body=rows.encode())
        controller = AckController(kubeconfig, aws.url, region, account.account_id,
                                   namespace=ns, poll_seconds=0.3).start()
        api = client.CustomObjectsApi(config.new_client_from_config(config_file=str(kubeconfig)))
        try:
            body = training_job("bench-train", account.execution_role_arn)
            spec = body["spec"]
            spec["hyperParameters"] = {"k": "3", "feature_dim": "4"}
            spec["algorithmSpecification"]["trainingImage"] = kmeans_image_uri(region)
            spec["inputDataConfig"][0]["dataSource"]["s3DataSource"]["s3URI"] = (
                f"s3://{account.bucket}/bench/train/")
            spec["outputDataConfig"]["s3OutputPath"] = f"s3://{account.bucket}/bench/out/"
            t0 = time.perf_counter()
            api.create_namespaced_custom_object(*group, ns, "trainingjobs", body)
            arn_at = done_at = None
            while time.perf_counter() - t0 < 180 and done_at is None:
                status = api.get_namespaced_custom_object(*group, ns, "trainingjobs",
                                                          "bench-train").get("status") or {}
                now = time.perf_counter()
                if arn_at is None and (status.get("ackResourceMetadata") or {}).get("arn"):
                    arn_at = now
                if status.get("trainingJobStatus") in ("Completed", "Failed"):
                    done_at = now
                time.sleep(0.05)
            desc = sm.describe_training_job(TrainingJobName="bench-train")
            wall_end = time.time() - (time.perf_counter() - done_at)
            out["create_to_arn_s"] = round(arn_at - t0, 3)
            out["create_to_completed_s"] = round(done_at - t0, 3)
            out["job_end_to_status_s"] = round(wall_end - desc["TrainingEndTime"].timestamp(), 3)
            mbody = model("bench-model")
            mbody["spec"]["executionRoleARN"] = account.execution_role_arn
            mbody["spec"]["primaryContainer"]["image"] = kmeans_image_uri(region)
            mbody["spec"]["primaryContainer"]["modelDataURL"] = desc["ModelArtifacts"][
                "S3ModelArtifacts"]
            t0 = time.perf_counter()
            api.create_namespaced_custom_object(*group, ns, "models", mbody)
            while time.perf_counter() - t0 < 60:
                obj = api.get_namespaced_custom_object(*group, ns, "models", "bench-model")
                conds = (obj.get("status") or {}).get("conditions") or []
                if any(c["type"] == "ACK.ResourceSynced" and c["status"] == "True"
                       for c in conds):
                    break
                time.sleep(0.02)
            out["model_synced_s"] = round(time.perf_counter() - t0, 3)
        finally:
            controller.stop()
            kube.stop()
            aws.stop()
    return out


if __name__ == "__main__":
    sys.exit(main())
