"""Aggregated discovery: a cold kubectl learns every resource from /api and /apis alone, and
the aggregated documents agree with the legacy ones the python client reads."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request

V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def _get(cluster, path: str, accept: str):
    """GET as the admin; returns (content type, JSON body)."""
    req = urllib.request.Request(cluster.url + path)
    req.add_header("Authorization", f"Bearer {cluster.token}")
    req.add_header("Accept", accept)
    with urllib.request.urlopen(req, timeout=120) as resp:
        return resp.headers["Content-Type"], json.loads(resp.read())


def test_a_cold_kubectl_asks_only_api_and_apis(cluster, tmp_path):
    env = dict(os.environ, KUBECONFIG=str(cluster.kubeconfig), HOME=str(tmp_path))
    proc = subprocess.run(["kubectl", "get", "deployments", "-A", "-v=6"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    paths = [line.split(" GET ", 1)[1].split("?")[0].split("/", 3)[3]
             for line in proc.stderr.splitlines() if " GET https://" in line]
    assert paths == ["api", "apis", "apis/apps/v1/deployments"], paths
    assert "ack-sagemaker-controller" in proc.stdout
    # the second call reads the cache kubectl wrote
    again = subprocess.run(["kubectl", "get", "trainingjobs", "-v=6"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert [line for line in again.stderr.splitlines() if " GET https://" in line and
            ("/api?" in line or "/apis?" in line)] == []


def test_aggregated_and_legacy_discovery_agree(cluster):
    ctype, doc = _get(cluster, "/apis", V2 + ",application/json")
    assert ctype == V2 and doc["kind"] == "APIGroupDiscoveryList"
    groups = {item["metadata"]["name"]: item for item in doc["items"]}
    assert "" not in groups and "apps" in groups and "sagemaker.services.k8s.aws" in groups
    apps_v1 = groups["apps"]["versions"][0]
    deployments = {r["resource"]: r for r in apps_v1["resources"]}["deployments"]
    assert deployments["scope"] == "Namespaced" and deployments["shortNames"] == ["deploy"]
    subs = {s["subresource"]: s["responseKind"] for s in deployments["subresources"]}
    assert subs["scale"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    assert subs["status"]["kind"] == "Deployment"
    # same resources as the legacy list of that group-version
    _, legacy = _get(cluster, "/apis/apps/v1", "application/json")
    flat = {r["resource"] for r in apps_v1["resources"]} | {
        f"{r['resource']}/{s['subresource']}" for r in apps_v1["resources"]
        for s in r.get("subresources", [])}
    assert flat == {r["name"] for r in legacy["resources"]}
    ctype, core = _get(cluster, "/api", V2)
    assert [i["metadata"]["name"] for i in core["items"]] == [""]
    pods = {r["resource"]: r for r in core["items"][0]["versions"][0]["resources"]}["pods"]
    assert pods["responseKind"]["kind"] == "Pod"
    # a client that does not ask for it (the python client) keeps the legacy documents
    ctype, plain = _get(cluster, "/apis", "application/json")
    assert ctype.startswith("application/json") and plain["kind"] == "APIGroupList"
