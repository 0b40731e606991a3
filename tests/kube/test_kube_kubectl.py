"""The real kubectl (v1.32) against the sandbox API server: get, describe, apply, annotate,
label, delete of every served type, ``-o yaml|json``, ``auth can-i`` and ``create token``."""

from __future__ import annotations

import json

import pytest
import yaml

from kube_helpers import PROFILE

NS = "kubectl-test"

MANIFEST = f"""
apiVersion: v1
kind: Namespace
metadata:
  name: {NS}
---
apiVersion: v1
kind: Secret
metadata:
  name: aws-secret
  namespace: {NS}
type: Opaque
data:
  AWS_ACCESS_KEY_ID: QUtJQTEyMw==
stringData:
  AWS_SECRET_ACCESS_KEY: s3cr3t
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: runner
  namespace: {NS}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: {NS}
data:
  region: eu-west-1
---
apiVersion: v1
kind: Pod
metadata:
  name: step
  namespace: {NS}
spec:
  containers:
  - name: main
    image: python:3.11
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: {NS}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1
        env:
        - name: A
          value: "1"
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: {NS}
spec:
  selector: {{app: web}}
  ports:
  - port: 80
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: sagemaker-jobs
  namespace: {NS}
rules:
- apiGroups: [sagemaker.services.k8s.aws]
  resources: [trainingjobs, trainingjobs/status]
  verbs: [get, list, create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: runner-sagemaker
  namespace: {NS}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: sagemaker-jobs
subjects:
- kind: ServiceAccount
  name: runner
  namespace: {NS}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: kubectl-test-reader
rules:
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kubectl-test-reader
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: kubectl-test-reader
subjects:
- kind: ServiceAccount
  name: runner
  namespace: {NS}
---
apiVersion: sagemaker.services.k8s.aws/v1alpha1
kind: TrainingJob
metadata:
  name: kmeans
  namespace: {NS}
spec:
  trainingJobName: kmeans
  roleARN: arn:aws:iam::123456789012:role/sm
  algorithmSpecification:
    trainingImage: kmeans:1
    trainingInputMode: File
  outputDataConfig:
    s3OutputPath: s3://bucket/out
  resourceConfig:
    instanceCount: 1
    instanceType: ml.m5.large
    volumeSizeInGB: 5
  stoppingCondition:
    maxRuntimeInSeconds: 3600
"""

EVENT = f"""
apiVersion: v1
kind: Event
metadata:
  name: step.started
  namespace: {NS}
involvedObject:
  kind: Pod
  name: step
  namespace: {NS}
reason: Started
message: Started container main
type: Normal
"""

KINDS = [("namespace", NS, ""), ("secret", "aws-secret", NS), ("serviceaccount", "runner", NS),
         ("configmap", "settings", NS), ("pod", "step", NS), ("deployment", "web", NS),
         ("service", "web", NS), ("role", "sagemaker-jobs", NS),
         ("rolebinding", "runner-sagemaker", NS), ("clusterrole", "kubectl-test-reader", ""),
         ("clusterrolebinding", "kubectl-test-reader", ""), ("trainingjob", "kmeans", NS),
         ("event", "step.started", NS)]


def _ns_args(ns: str) -> list[str]:
    """``-n ns`` when namespaced."""
    return ["-n", ns] if ns else []


def test_apply_get_describe_annotate_label_delete_each_type(cluster):
    """Apply get describe annotate label delete each type."""
    out = cluster.kubectl("apply", "-f", "-", stdin=MANIFEST)
    assert "trainingjob.sagemaker.services.k8s.aws/kmeans created" in out.stdout
    assert "secret/aws-secret created" in out.stdout
    assert out.stderr == "", out.stderr  # no discovery/openapi noise
    cluster.kubectl("apply", "-f", "-", stdin=EVENT)
    # a second apply of a change is computed as a patch and reported as configured
    changed = MANIFEST.replace("region: eu-west-1", "region: us-east-1").replace(
        "instanceCount: 1", "instanceCount: 2")
    out = cluster.kubectl("apply", "-f", "-", stdin=changed)
    assert "configmap/settings configured" in out.stdout
    assert "trainingjob.sagemaker.services.k8s.aws/kmeans configured" in out.stdout
    assert "serviceaccount/runner unchanged" in out.stdout
    assert cluster.kubectl_json("get", "cm", "settings", "-n", NS)["data"] == {
        "region": "us-east-1"}
    tj = cluster.kubectl_json("get", "trainingjob", "kmeans", "-n", NS)
    assert tj["spec"]["resourceConfig"]["instanceCount"] == 2
    assert tj["metadata"]["generation"] == 2
    secret = yaml.safe_load(cluster.kubectl("get", "secret", "aws-secret", "-n", NS,
                                            "-o", "yaml").stdout)
    assert set(secret["data"]) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    # one kubectl call per verb and scope, naming every type (kubectl takes TYPE/NAME lists)
    for scope in (NS, ""):
        kinds = [(k, n) for k, n, ns in KINDS if ns == scope]
        refs = [f"{k}/{n}" for k, n in kinds]
        tables = cluster.kubectl("get", *refs, *_ns_args(scope)).stdout
        for kind, name in kinds:
            # the events table, as on a real server, shows the reason and object, not the name
            assert (name if kind != "event" else "pod/step") in tables, (kind, tables)
        described = cluster.kubectl("describe", *refs, *_ns_args(scope)).stdout
        for kind, name in kinds:
            assert "Name:" in described and name in described, kind
        refs = [r for r in refs if not r.startswith("event/")]
        cluster.kubectl("annotate", *refs, *_ns_args(scope), "labwiz/checked=yes")
        cluster.kubectl("label", *refs, *_ns_args(scope), "tier=lab")
        kinds_csv = ",".join(k for k, _ in kinds if k != "event")
        listed = cluster.kubectl_json("get", kinds_csv, *_ns_args(scope), "-l", "tier=lab")
        got = {(i["kind"].lower(), i["metadata"]["name"]): i for i in listed["items"]}
        for ref in refs:
            kind, name = ref.split("/")
            item = got[(kind, name)]
            assert item["metadata"]["annotations"]["labwiz/checked"] == "yes", kind
            assert item["metadata"]["uid"], kind
    table = cluster.kubectl("get", "deploy", "web", "-n", NS).stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    table = cluster.kubectl("get", "trainingjobs", "-n", NS, "-o", "wide").stdout
    assert "FAILURE-REASON" in table and "SECONDARY-STATUS" in table
    out = cluster.kubectl("delete", "-f", "-", stdin=MANIFEST.split("---", 1)[1])
    assert "trainingjob.sagemaker.services.k8s.aws \"kmeans\" deleted" in out.stdout
    missing = cluster.kubectl("get", "cm", "settings", "-n", NS, check=False)
    assert missing.returncode == 1 and "NotFound" in missing.stderr
    cluster.kubectl("delete", "namespace", NS)
    assert cluster.kubectl("get", "ns", NS, check=False).returncode == 1


def test_kubectl_rejects_invalid_custom_resource(cluster):
    """Kubectl rejects invalid custom resource."""
    bad = yaml.safe_load(MANIFEST.split("---")[-1])
    bad["metadata"]["namespace"] = PROFILE
    del bad["spec"]["trainingJobName"]
    bad["spec"]["resourceConfig"]["instanceCount"] = "one"
    out = cluster.kubectl("apply", "-f", "-", stdin=json.dumps(bad), check=False)
    assert out.returncode == 1
    assert "spec.trainingJobName: Required value" in out.stderr
    assert "spec.resourceConfig.instanceCount" in out.stderr
    bad["spec"]["trainingJobName"] = "kmeans"
    bad["spec"]["resourceConfig"]["instanceCount"] = 1
    bad["spec"]["typo"] = True
    out = cluster.kubectl("apply", "-f", "-", stdin=json.dumps(bad), check=False)
    assert out.returncode == 1 and 'unknown field "spec.typo"' in out.stderr
    unknown = cluster.kubectl("get", "flurbles", check=False)
    assert unknown.returncode == 1
    assert "doesn't have a resource type \"flurbles\"" in unknown.stderr


@pytest.mark.parametrize("api_version,kind", [("example.com/v1", "Widget"), ("v1", "Flurble")])
def test_kubectl_apply_of_an_unknown_kind_says_to_install_the_crd(cluster, api_version, kind):
    """kubectl's own message for a kind nobody serves, with validation on (the default)."""
    manifest = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}}
    out = cluster.kubectl("apply", "-f", "-", stdin=json.dumps(manifest), check=False)
    assert out.returncode == 1
    assert f'no matches for kind "{kind}"' in out.stderr, out.stderr
    assert "ensure CRDs are installed first" in out.stderr


def test_openapi_v2_answers_json_and_protobuf(cluster):
    """/openapi/v2 exists in both forms kubectl and other clients ask for."""
    from wizard.sandbox.kube.discovery import OPENAPI_V2_PROTOBUF

    raw = cluster.kubectl("get", "--raw", "/openapi/v2")
    assert json.loads(raw.stdout)["swagger"] == "2.0"
    import urllib.request
    import ssl

    req = urllib.request.Request(cluster.url + "/openapi/v2", headers={
        "Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
        "Authorization": f"Bearer {cluster.token}"})
    context = ssl._create_unverified_context() if cluster.url.startswith("https") else None
    with urllib.request.urlopen(req, timeout=120, context=context) as resp:
        assert resp.headers["Content-Type"] == OPENAPI_V2_PROTOBUF
        body = resp.read()
    assert body.startswith(b"\x0a\x032.0")  # field 1 (swagger) = "2.0"


def test_auth_can_i_and_whoami(cluster):
    """Auth can i and whoami."""
    editor = f"system:serviceaccount:{PROFILE}:default-editor"
    yes = cluster.kubectl("auth", "can-i", "create", "pods", "-n", PROFILE, "--as", editor)
    assert yes.stdout.strip() == "yes"
    no = cluster.kubectl("auth", "can-i", "create", "trainingjobs.sagemaker.services.k8s.aws",
                         "-n", PROFILE, "--as", editor, check=False)
    assert no.returncode == 1 and no.stdout.strip() == "no"
    controller = "system:serviceaccount:ack-system:ack-sagemaker-controller"
    ok = cluster.kubectl("auth", "can-i", "patch", "trainingjobs/status", "-n", PROFILE,
                         "--as", controller)
    assert ok.stdout.strip() == "yes"
    me = cluster.kubectl("auth", "whoami", "-o", "json")
    assert json.loads(me.stdout)["status"]["userInfo"]["username"] == "kubernetes-admin"


def test_create_token_authenticates_as_the_account(cluster, tmp_path):
    """Create token authenticates as the account."""
    token = cluster.kubectl("create", "token", "default-viewer", "-n", PROFILE).stdout.strip()
    cfg = yaml.safe_load(cluster.kubeconfig.read_text())
    cfg["users"][0]["user"]["token"] = token
    viewer = tmp_path / "viewer.yaml"
    viewer.write_text(yaml.safe_dump(cfg))
    pods = cluster.kubectl("get", "pods", "-n", PROFILE, kubeconfig=viewer, check=False)
    assert pods.returncode == 0, pods.stderr
    denied = cluster.kubectl("get", "secrets", "-n", PROFILE, kubeconfig=viewer, check=False)
    assert denied.returncode == 1
    assert ('User "system:serviceaccount:kubeflow-user-example-com:default-viewer" cannot list '
            'resource "secrets"') in denied.stderr


def test_kubectl_create_subcommands(cluster):
    """kubectl create/run send protobuf bodies; the objects must arrive intact."""
    ns = "kubectl-create"
    steps = [
        ["create", "namespace", ns],
        ["create", "configmap", "c1", "-n", ns, "--from-literal=region=eu-west-1"],
        ["create", "secret", "generic", "aws-secret", "-n", ns,
         "--from-literal=AWS_ACCESS_KEY_ID=AKIA123"],
        ["create", "serviceaccount", "runner", "-n", ns],
        ["create", "role", "jobs", "-n", ns, "--verb=get,create",
         "--resource=trainingjobs.sagemaker.services.k8s.aws"],
        ["create", "rolebinding", "runner-jobs", "-n", ns, "--role=jobs",
         f"--serviceaccount={ns}:runner"],
        ["create", "deployment", "web", "-n", ns, "--image=nginx:1", "--replicas=2"],
        ["run", "step", "-n", ns, "--image=python:3.11", "--env=A=1", "--labels=app=step",
         "--", "python", "-c", "print(1)"],
        ["create", "service", "clusterip", "web", "-n", ns, "--tcp=80:8080"],
    ]
    for step in steps:
        cluster.kubectl(*step)
    secret = cluster.kubectl_json("get", "secret", "aws-secret", "-n", ns)
    assert secret["type"] == "Opaque"
    assert secret["data"] == {"AWS_ACCESS_KEY_ID": "QUtJQTEyMw=="}
    pod = cluster.kubectl_json("get", "pod", "step", "-n", ns)
    container = pod["spec"]["containers"][0]
    assert container["image"] == "python:3.11" and container["env"] == [{"name": "A",
                                                                       "value": "1"}]
    assert container["args"] == ["python", "-c", "print(1)"]
    assert pod["metadata"]["labels"] == {"app": "step"}
    dep = cluster.kubectl_json("get", "deployment", "web", "-n", ns)
    assert dep["spec"]["replicas"] == 2
    assert dep["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    svc = cluster.kubectl_json("get", "service", "web", "-n", ns)
    assert svc["spec"]["ports"][0]["port"] == 80 and svc["spec"]["ports"][0]["targetPort"] == 8080
    can = cluster.kubectl("auth", "can-i", "create", "trainingjobs.sagemaker.services.k8s.aws",
                          "-n", ns, "--as", f"system:serviceaccount:{ns}:runner")
    assert can.stdout.strip() == "yes"
    cluster.kubectl("delete", "namespace", ns)
