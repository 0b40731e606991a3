"""Bad input answered as KFP answers it: gRPC-gateway bodies with the right HTTP status."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest

from tests.kfp_api.conftest import make_client


def call(url: str, method: str = "GET", body: bytes | None = None,
         headers: dict | None = None) -> tuple[int, dict]:
    """Send a raw request; return (status, JSON body)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def assert_grpc_error(status: int, body: dict, http: int, code: int) -> None:
    """The body is a gRPC-gateway error with the expected codes and a message."""
    assert status == http, body
    assert body["code"] == code
    assert body["message"] and body["error"] == body["message"]
    assert body["details"] == []


def multipart(filename: str, data: bytes) -> tuple[bytes, dict]:
    """A multipart body with one uploadfile field."""
    boundary = "labwizboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"uploadfile\"; "
            f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def test_not_a_pipeline_file_is_invalid_argument(kfp_server, tmp_path):
    api = f"{kfp_server.url}/apis/v2beta1"
    for name, data in [("notes.txt", b"just some words: [unclosed"),
                       ("workflow.yaml", b"apiVersion: argoproj.io/v1alpha1\nkind: Workflow\n"),
                       ("empty.yaml", b""), ("list.yaml", b"- a\n- b\n"),
                       ("bad.tar.gz", b"\x1f\x8bnot really gzip")]:
        body, headers = multipart(name, data)
        status, err = call(f"{api}/pipelines/upload?name=x-{name}", "POST", body, headers)
        assert_grpc_error(status, err, 400, 3)
        assert "upload" in err["message"] or "compile" in err["message"]
    # and the SDK surfaces the same thing as ApiException(400)
    junk = tmp_path / "junk.yaml"
    junk.write_text("hello: world\n")
    client = make_client(kfp_server.url)
    with pytest.raises(Exception) as exc:
        client.upload_pipeline(str(junk), pipeline_name="junk")
    assert exc.value.status == 400
    assert "not a KFP pipeline spec" in exc.value.body


def test_archive_package_uploads(kfp_server, pipelines, tmp_path):
    import tarfile
    import zipfile

    tgz = tmp_path / "pipe.tar.gz"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(pipelines["sum"], arcname="pipeline.yaml")
    archive = tmp_path / "pipe.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(pipelines["sum"], arcname="sum.yaml")
    client = make_client(kfp_server.url)
    for path in (tgz, archive):
        pipeline = client.upload_pipeline(str(path), pipeline_name=f"archived-{path.suffix}")
        versions = client.list_pipeline_versions(pipeline.pipeline_id).pipeline_versions
        assert versions[0].pipeline_spec["pipelineInfo"]["name"] == "sum-pipeline"


def test_unknown_ids_are_not_found(kfp_server):
    api = f"{kfp_server.url}/apis/v2beta1"
    for path in ("/pipelines/nope", "/pipelines/nope/versions", "/pipelines/nope/versions/x",
                 "/experiments/nope", "/runs/nope", "/pipelines/names/nope",
                 "/sandbox/runs/nope/tasks"):
        assert_grpc_error(*call(api + path), 404, 5)
    assert_grpc_error(*call(api + "/runs/nope:terminate", "POST"), 404, 5)
    assert_grpc_error(*call(api + "/runs/nope", "DELETE"), 404, 5)
    assert_grpc_error(*call(api + "/no/such/path"), 404, 5)


def test_malformed_json_and_bad_list_arguments(kfp_server):
    api = f"{kfp_server.url}/apis/v2beta1"
    hdr = {"Content-Type": "application/json"}
    assert_grpc_error(*call(api + "/experiments", "POST", b"{not json", hdr), 400, 3)
    assert_grpc_error(*call(api + "/experiments", "POST", b"[1, 2]", hdr), 400, 3)
    assert_grpc_error(*call(api + "/experiments", "POST", b"{}", hdr), 400, 3)
    assert_grpc_error(*call(api + "/runs", "POST", b'{"display_name": "r"}', hdr), 400, 3)
    assert_grpc_error(*call(api + "/runs", "POST", json.dumps(
        {"display_name": "r", "pipeline_spec": {"hello": 1}}).encode(), hdr), 400, 3)
    assert_grpc_error(*call(api + "/pipelines?filter=%7Bbad"), 400, 3)
    assert_grpc_error(*call(api + "/pipelines?page_token=garbage"), 400, 3)
    assert_grpc_error(*call(api + "/pipelines?sort_by=nosuchfield"), 400, 3)
    assert_grpc_error(*call(api + "/pipelines?page_size=many"), 400, 3)


def test_run_parameters_are_checked_at_create(kfp_server, pipelines):
    client = make_client(kfp_server.url)
    for params, needle in [({"nope": 1}, "unknown pipeline parameter"),
                           ({"a": "not-a-number"}, "must be a int")]:
        with pytest.raises(Exception) as exc:
            client.create_run_from_pipeline_package(str(pipelines["sum"]), arguments=params,
                                                    run_name="bad-params")
        assert exc.value.status == 400
        assert needle in exc.value.body


def test_duplicates_are_already_exists(kfp_server, pipelines):
    client = make_client(kfp_server.url)
    pipeline = client.upload_pipeline(str(pipelines["sum"]), pipeline_name="dup-me")
    with pytest.raises(Exception) as exc:
        client.upload_pipeline(str(pipelines["sum"]), pipeline_name="dup-me")
    assert exc.value.status == 409
    assert json.loads(exc.value.body)["code"] == 6
    client.upload_pipeline_version(str(pipelines["sum"]), "v1", pipeline_id=pipeline.pipeline_id)
    with pytest.raises(Exception) as exc:
        client.upload_pipeline_version(str(pipelines["sum"]), "v1",
                                       pipeline_id=pipeline.pipeline_id)
    assert exc.value.status == 409
    client.experiments.experiment_service_create_experiment(
        experiment={"display_name": "dup-exp"})
    with pytest.raises(Exception) as exc:
        client.experiments.experiment_service_create_experiment(
            experiment={"display_name": "dup-exp"})
    assert exc.value.status == 409


def test_delete_pipeline_with_versions_is_refused_then_cascades(kfp_server, pipelines):
    client = make_client(kfp_server.url)
    pipeline = client.upload_pipeline(str(pipelines["sum"]), pipeline_name="to-delete")
    with pytest.raises(Exception) as exc:
        client.delete_pipeline(pipeline.pipeline_id)
    assert exc.value.status == 400
    assert "existing pipeline versions" in exc.value.body
    version_id = client.list_pipeline_versions(
        pipeline.pipeline_id).pipeline_versions[0].pipeline_version_id
    client.delete_pipeline_version(pipeline.pipeline_id, version_id)
    client.delete_pipeline(pipeline.pipeline_id)
    assert client.get_pipeline_id("to-delete") is None
    other = client.upload_pipeline(str(pipelines["sum"]), pipeline_name="cascade-me")
    status, _ = call(f"{kfp_server.url}/apis/v2beta1/pipelines/{other.pipeline_id}?cascade=true",
                     "DELETE")
    assert status == 200
    assert client.get_pipeline_id("cascade-me") is None


def test_list_filter_sort_and_pages(kfp_server, pipelines):
    client = make_client(kfp_server.url)
    names = [f"page-{i}" for i in range(5)]
    for name in names:
        client.upload_pipeline(str(pipelines["sum"]), pipeline_name=name, namespace="paging")
    seen, token = [], ""
    while True:
        page = client.pipelines.pipeline_service_list_pipelines(
            namespace="paging", page_size=2, page_token=token, sort_by="display_name desc")
        assert page.total_size == 5
        seen += [p.display_name for p in page.pipelines]
        token = page.next_page_token
        if not token:
            break
    assert seen == sorted(names, reverse=True)
    flt = json.dumps({"predicates": [{"operation": "IN", "key": "name",
                                      "string_values": {"values": ["page-1", "page-3"]}}]})
    found = client.pipelines.pipeline_service_list_pipelines(namespace="paging", filter=flt)
    assert sorted(p.name for p in found.pipelines) == ["page-1", "page-3"]
    sub = json.dumps({"predicates": [{"operation": 9, "key": "display_name",
                                      "stringValue": "ge-4"}]})
    found = client.pipelines.pipeline_service_list_pipelines(namespace="paging", filter=sub)
    assert [p.name for p in found.pipelines] == ["page-4"]
    assert client.pipelines.pipeline_service_get_pipeline_by_name(
        name="page-2", namespace="paging").display_name == "page-2"


def test_garbage_on_the_socket_does_not_kill_the_server(kfp_server):
    host, port = kfp_server.host, kfp_server.port
    for junk in (b"\x00\x01\x02 garbage\r\n\r\n", b"GET /apis/v2beta1/runs HTTP/1.1\r\n"
                 b"Content-Length: 999999\r\n\r\n{", b"POST / HTTP/1.1\r\nHost: x\r\n\r\n"):
        with socket.create_connection((host, port), timeout=60) as sock:
            sock.sendall(junk)
            sock.shutdown(socket.SHUT_WR)
            try:
                sock.recv(4096)
            except OSError:
                pass
    assert kfp_server.healthy()


def test_pipelines_and_versions_from_json(kfp_server, pipelines):
    import yaml

    api = f"{kfp_server.url}/apis/v2beta1"
    hdr = {"Content-Type": "application/json"}
    spec = yaml.safe_load(pipelines["sum"].read_text())
    status, pipe = call(f"{api}/pipelines", "POST",
                        json.dumps({"display_name": "json-pipe"}).encode(), hdr)
    assert status == 200 and pipe["name"] == "json-pipe"
    status, version = call(f"{api}/pipelines/{pipe['pipeline_id']}/versions", "POST", json.dumps(
        {"display_name": "inline", "pipeline_spec": spec}).encode(), hdr)
    assert status == 200 and version["pipeline_spec"]["pipelineInfo"]["name"] == "sum-pipeline"
    status, version = call(f"{api}/pipelines/{pipe['pipeline_id']}/versions", "POST", json.dumps(
        {"display_name": "by-url",
         "package_url": {"pipeline_url": pipelines["sum"].as_uri()}}).encode(), hdr)
    assert status == 200 and version["package_url"]["pipeline_url"].startswith("file://")
    status, err = call(f"{api}/pipelines/{pipe['pipeline_id']}/versions", "POST", json.dumps(
        {"display_name": "remote",
         "package_url": {"pipeline_url": "https://example.com/p.yaml"}}).encode(), hdr)
    assert_grpc_error(status, err, 400, 3)
    status, both = call(f"{api}/pipelines/create", "POST", json.dumps(
        {"pipeline": {"display_name": "json-both"},
         "pipeline_version": {"pipeline_spec": spec}}).encode(), hdr)
    assert status == 200 and both["display_name"] == "json-both"
    status, listed = call(f"{api}/pipelines/{both['pipeline_id']}/versions")
    assert listed["total_size"] == 1


def test_unsupported_control_flow_fails_the_run_clearly(kfp_server, pipelines):
    client = make_client(kfp_server.url)
    run = client.create_run_from_pipeline_package(str(pipelines["loop"]), run_name="loop")
    done = client.wait_for_run_completion(run.run_id, 60, 0.3)
    assert done.state == "FAILED"
    assert "dsl.ParallelFor" in done.error.message
