"""The Kubernetes side of the daemon's provisioning, and the environment of pipeline pods.

Split from :mod:`wizard.sandbox.daemon` to keep modules small. Given a :class:`Daemon` whose
AWS endpoint and Kubernetes API are up, it seeds Kubeflow's namespaces and the ACK CRDs, writes
the admin kubeconfig, annotates the ACK controller's service account with its IRSA role, and
writes the pods' kubeconfig (the profile's ``default-editor``, through a TokenRequest).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from .daemon import PROFILE_NAMESPACE, SERVICE_ACCOUNT, call_with

if TYPE_CHECKING:
    from .daemon import Daemon

log = logging.getLogger("labwiz.sandbox.daemon")


def kube_request(daemon: "Daemon", method: str, path: str, body: Any = None,
                 content_type: str = "application/json") -> Any:
    """One call to the sandbox's Kubernetes API as the cluster admin; returns the JSON answer."""
    url = daemon.parts["kube"].url + path
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", content_type)
    req.add_header("Accept", "application/json")
    if daemon.admin_token:
        req.add_header("Authorization", f"Bearer {daemon.admin_token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"{}")


def seed_cluster(daemon: "Daemon", kube: Any) -> None:
    """Seed Kubeflow's namespaces and the ACK CRDs, write the admin kubeconfig, wire IRSA."""
    from .kube import seed_kubeflow_cluster, write_kubeconfig

    began = time.monotonic()
    real_crds = getattr(daemon, "real_ack_crds", None)
    if real_crds is not None:  # --ack real: the controller's own CRDs, not derived ones
        crds: list[Any] = [real_crds]
        log.info("installing the real controller's CRDs from %s", real_crds)
    else:
        from .ack import derive_crds  # part of the sandbox: a failing import is a broken install

        crds = derive_crds()
        log.info("%d ACK CRDs derived in %.2f s", len(crds), time.monotonic() - began)
    acct = daemon.account
    call_with(seed_kubeflow_cluster, server_or_store=kube, server=kube, crds=crds,
              profile_namespace=PROFILE_NAMESPACE, service_account=SERVICE_ACCOUNT)
    call_with(write_kubeconfig, path=daemon.kubeconfig, url=kube.url, token=daemon.admin_token,
              cluster_name=acct.cluster_name, namespace=PROFILE_NAMESPACE)
    log.info("cluster seeded in %.2f s", time.monotonic() - began)
    _annotate_irsa(daemon)
    _write_pod_kubeconfig(daemon)


def _annotate_irsa(daemon: "Daemon") -> None:
    """Annotate the ACK controller's service account with its IAM role (IRSA)."""
    from .aws.provision import ACK_NAMESPACE, ACK_SERVICE_ACCOUNT

    path = f"/api/v1/namespaces/{ACK_NAMESPACE}/serviceaccounts/{ACK_SERVICE_ACCOUNT}"
    annotations = {"eks.amazonaws.com/role-arn": daemon.account.ack_role_arn}
    try:
        kube_request(daemon, "GET", path)
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise
        for kind, ns_path, body in (
            ("namespace", "/api/v1/namespaces", {"metadata": {"name": ACK_NAMESPACE}}),
            ("service account", f"/api/v1/namespaces/{ACK_NAMESPACE}/serviceaccounts",
             {"metadata": {"name": ACK_SERVICE_ACCOUNT, "namespace": ACK_NAMESPACE}}),
        ):
            try:
                kube_request(daemon, "POST", ns_path, {"apiVersion": "v1",
                                                       "kind": kind.title().replace(" ", ""),
                                                       **body})
            except urllib.error.HTTPError as err:
                if err.code != 409:  # already exists is what we want
                    raise
    kube_request(daemon, "PATCH", path, {"metadata": {"annotations": annotations}},
                 content_type="application/merge-patch+json")


def publish_kfp_address(daemon: "Daemon") -> None:
    """Give the ``istio-system`` Ingress the KFP API's address as its load balancer's, so the
    lab's ``kubectl get ingress -n istio-system`` shows where Kubeflow Pipelines answers."""
    from .kube.seed import INGRESS_NAME, INGRESS_NAMESPACE, ingress_status

    url = daemon.parts["kfp"].url
    if not url:
        return
    path = (f"/apis/networking.k8s.io/v1/namespaces/{INGRESS_NAMESPACE}/ingresses/"
            f"{INGRESS_NAME}/status")
    try:
        kube_request(daemon, "PATCH", path, {"status": ingress_status(url)},
                     content_type="application/merge-patch+json")
    except (urllib.error.URLError, OSError) as exc:  # the lab does not need it: say so in the log
        log.warning("could not publish KFP's address on the ingress: %s", exc)


def _write_pod_kubeconfig(daemon: "Daemon") -> None:
    """A kubeconfig for pipeline pods: the profile's default-editor, via a TokenRequest.

    It names the server over https with the server's CA embedded: kubectl (client-go) sends
    a bearer token only over TLS, so a plain http URL would leave kubectl anonymous (401).
    """
    from .kube import write_kubeconfig

    path = (f"/api/v1/namespaces/{PROFILE_NAMESPACE}/serviceaccounts/{SERVICE_ACCOUNT}/token")
    answer = kube_request(daemon, "POST", path, {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"expirationSeconds": 30 * 24 * 3600},
    })
    kube = daemon.parts["kube"].obj
    write_kubeconfig(daemon.pod_kubeconfig, kube.url, answer["status"]["token"],
                     cluster_name=daemon.account.cluster_name, namespace=PROFILE_NAMESPACE,
                     user=f"system:serviceaccount:{PROFILE_NAMESPACE}:{SERVICE_ACCOUNT}",
                     ca_data=kube.ca_data)


def pod_run_env(daemon: "Daemon") -> dict[str, str]:
    """What a pipeline pod sees, mapped onto the sandbox.

    Pods carry the learner's access key, so that a component of the learner's own that calls
    AWS works here as it would with ``pod_access: irsa`` or ``secret`` on a real cluster (the
    sandbox's KFP starts before the lab chooses). The lab's own components use none of it: they
    only talk to the Kubernetes API. The test keys are the fallback when provisioning has not
    made one.
    """
    from .aws import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY

    acct = daemon.account
    key_id = getattr(acct, "learner_access_key_id", "") or TEST_ACCESS_KEY_ID
    secret = getattr(acct, "learner_secret_access_key", "") or TEST_SECRET_ACCESS_KEY
    env = {
        "AWS_ENDPOINT_URL": daemon.parts["aws"].url,
        "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_REGION": daemon.region,
        "AWS_DEFAULT_REGION": daemon.region,
        "AWS_STS_REGIONAL_ENDPOINTS": "regional",
        "POD_NAMESPACE": PROFILE_NAMESPACE,
        "KFP_NAMESPACE": PROFILE_NAMESPACE,
        "LABWIZ_SANDBOX": "1",
    }
    if daemon.pod_kubeconfig.exists():
        env["KUBECONFIG"] = str(daemon.pod_kubeconfig)
    return env
