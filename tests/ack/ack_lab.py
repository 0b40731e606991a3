"""The ACK controller's test lab: the sandbox's AWS endpoint (moto + the SageMaker app), the
sandbox's Kubernetes API server with the derived CRDs installed, one controller, and the helpers
the ACK tests share. Import ``lab`` into a test module to use it (one lab per module)."""

from __future__ import annotations

import os
import time
from typing import Any, Callable

import pytest

from ack_samples import training_job

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

REGION = "eu-west-1"
NS = "default"
GROUP, VERSION = "sagemaker.services.k8s.aws", "v1alpha1"


def _wait(what: str, probe: Callable[[], Any], timeout: float = 90.0, every: float = 0.2) -> Any:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}; last seen: {last!r}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """AWS endpoint with SageMaker, the lab account, the API server with CRDs, one controller."""
    from kubernetes import client, config

    from wizard.sandbox.ack import AckController, install_crds
    from wizard.sandbox.aws import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY
    from wizard.sandbox.aws.provision import provision
    from wizard.sandbox.aws.sagemaker import make_sagemaker_app
    from wizard.sandbox.aws.server import AwsServer
    from wizard.sandbox.kube import KubeApiServer, write_kubeconfig

    from wizard.sandbox.faults import Faults

    root = tmp_path_factory.mktemp("ack-lab")
    faults = Faults(root / "faults")
    aws = AwsServer(root / "aws", faults=faults)
    aws.start()
    account = provision(aws, REGION)
    app = make_sagemaker_app(root / "sagemaker", aws.url, REGION, faults, delay=0.2)
    aws.attach_sagemaker(app)
    kube = KubeApiServer(root / "kube")
    kube.start()
    kubeconfig = root / "kubeconfig"
    write_kubeconfig(kubeconfig, kube.url, kube.admin_token, "kf-sm-workshop", NS, "admin")
    install_crds(kubeconfig)

    import boto3

    session = dict(endpoint_url=aws.url, region_name=REGION, aws_access_key_id=TEST_ACCESS_KEY_ID,
                   aws_secret_access_key=TEST_SECRET_ACCESS_KEY)
    s3 = boto3.client("s3", **session)
    rows = "\n".join(f"{(i % 3) * 10 + (i % 7) * 0.1},{(i % 3) * -5 + (i % 5) * 0.1},"
                     f"{(i % 3) * 2.0},{i % 2}" for i in range(150))
    s3.put_object(Bucket=account.bucket, Key="ack-test/train/train.csv", Body=rows.encode())

    controller = AckController(kubeconfig, aws.url, REGION, account.account_id, namespace=NS,
                               poll_seconds=0.3).start()
    api = client.CustomObjectsApi(config.new_client_from_config(config_file=str(kubeconfig)))

    class Lab:
        """Handles the tests use."""

    lab = Lab()
    lab.account, lab.api, lab.kubeconfig, lab.aws = account, api, kubeconfig, aws
    lab.faults_dir = root / "faults"
    lab.sm = boto3.client("sagemaker", **session)
    lab.s3 = s3
    yield lab
    controller.stop()
    kube.stop()
    aws.stop()


def _kmeans_job(lab: Any, name: str, role: str | None = None) -> dict:
    """A TrainingJob resource for the tiny CSV, k=3 over 4 features."""
    from wizard.kmeans_images import kmeans_image_uri

    body = training_job(name, role or lab.account.execution_role_arn)
    spec = body["spec"]
    spec["hyperParameters"] = {"k": "3", "feature_dim": "4", "mini_batch_size": "50"}
    spec["algorithmSpecification"]["trainingImage"] = kmeans_image_uri(REGION)
    spec["inputDataConfig"][0]["dataSource"]["s3DataSource"]["s3URI"] = (
        f"s3://{lab.account.bucket}/ack-test/train/")
    spec["outputDataConfig"]["s3OutputPath"] = f"s3://{lab.account.bucket}/ack-test/output/"
    return body


def _create(lab: Any, body: dict) -> None:
    """Create a custom resource in the test namespace."""
    lab.api.create_namespaced_custom_object(GROUP, VERSION, NS, _plural(body["kind"]), body)


def _plural(kind: str) -> str:
    """The resource name of a kind."""
    from wizard.sandbox.ack.names import kind_plural

    return kind_plural(kind)


def _synced(lab: Any, kind: str, name: str) -> dict | None:
    """The resource once ACK.ResourceSynced is True, else None."""
    obj = _get(lab, _plural(kind), name)
    cond = _condition(obj, "ACK.ResourceSynced")
    return obj if cond and cond["status"] == "True" else None


def _get(lab: Any, plural: str, name: str) -> dict | None:
    """The resource, or None once it is gone."""
    from kubernetes.client.exceptions import ApiException

    try:
        return lab.api.get_namespaced_custom_object(GROUP, VERSION, NS, plural, name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _condition(obj: dict | None, ctype: str) -> dict | None:
    """The condition of type ``ctype`` on ``obj``, or None."""
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond["type"] == ctype:
            return cond
    return None




def _set_faults(lab: Any, *specs: str) -> None:
    """Put these sandbox faults in force (none clears them)."""
    from wizard.sandbox import faults

    faults.write(lab.faults_dir, [faults.parse(spec) for spec in specs])


def _model_of(lab: Any, trained: tuple[dict, list], name: str) -> dict:
    """A Model resource serving the trained job's artifact with the k-means image."""
    from ack_samples import model
    from wizard.kmeans_images import kmeans_image_uri

    body = model(name)
    body["spec"]["executionRoleARN"] = lab.account.execution_role_arn
    body["spec"]["primaryContainer"].update(
        image=kmeans_image_uri(REGION),
        modelDataURL=trained[0]["status"]["modelArtifacts"]["s3ModelArtifacts"])
    return body
