"""``labwiz run --explain`` before any lab: every command of steps one and two planned, --only,
--from and --skip honoured, and nothing called (AWS, Kubernetes and KFP all point at a tripwire)."""

from __future__ import annotations

import pytest


class _Tripwire:
    """A loopback HTTP listener that records every request: any call explain makes lands here."""

    def __init__(self):
        import http.server
        import threading

        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self):
                hits.append(f"{self.command} {self.path}")
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _any

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tripwire():
    wire = _Tripwire()
    yield wire
    wire.close()


def _explain_env(tripwire, tmp_path) -> dict:
    """AWS, Kubernetes and KFP all pointed at the tripwire."""
    import yaml

    kubeconfig = tmp_path / "tripwire-kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "t",
        "clusters": [{"name": "t", "cluster": {"server": tripwire.url}}],
        "users": [{"name": "t", "user": {"token": "t"}}],
        "contexts": [{"name": "t", "context": {"cluster": "t", "user": "t"}}]}))
    return {"AWS_ENDPOINT_URL": tripwire.url, "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "eu-west-1",
            "KUBECONFIG": str(kubeconfig), "KF_PIPELINES_ENDPOINT": tripwire.url}


def _sections(output: str) -> list[str]:
    """The step ids explain printed a section for, in order."""
    return [line[2:].split(":", 1)[0] for line in output.splitlines() if line.startswith("# ")]


def test_explain_honours_only_from_skip_and_touches_nothing(tmp_path, tripwire):
    from tests.conftest import run_labwiz

    state_dir = tmp_path / "s"
    env = _explain_env(tripwire, tmp_path)

    def explain(*args):
        result = run_labwiz(["--state-dir", str(state_dir), "run", "--explain", *args], env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    assert _sections(explain("--only", "credentials,data-upload")) == ["credentials", "data-upload"]
    assert _sections(explain("--from", "endpoint-test")) == ["endpoint-test", "cleanup"]
    everything = _sections(explain())
    skipped = _sections(explain("--skip", "compile,upload"))
    assert skipped == [s for s in everything if s not in ("compile", "upload")]
    assert len(everything) == 9
    bad = run_labwiz(["--state-dir", str(state_dir), "run", "--explain", "--only", "nope"], env=env)
    assert bad.returncode == 2 and "'nope' is not a step" in bad.stdout + bad.stderr
    assert tripwire.hits == []
    assert not (state_dir / "state.json").exists()


def test_explain_shows_every_command_of_steps_one_and_two(tmp_path, tripwire):
    from tests.conftest import run_labwiz

    answers = tmp_path / "answers.json"
    answers.write_text('{"bucket": "my-lab-bucket", "namespace": "team-a", '
                       '"service_account": "runner", "pod_access": "irsa"}')
    result = run_labwiz(["--state-dir", str(tmp_path / "s"), "run", "--explain", "--answers",
                         str(answers), "--only", "credentials,data-upload"],
                        env=_explain_env(tripwire, tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    # aws-secret, the fallback of IRSA without an OIDC provider, with placeholders only
    assert "$ aws iam create-user --user-name" in out
    assert "$ aws iam create-access-key --user-name" in out
    # the secret key comes from the learner's shell (create-access-key printed it), never from us
    assert ('$ kubectl create secret generic aws-secret -n team-a '
            '"--from-literal=AWS_ACCESS_KEY_ID=<access-key-id>" '
            '"--from-literal=AWS_SECRET_ACCESS_KEY=$LAB_SECRET_ACCESS_KEY"') in out
    # the bucket-scoped inline policy of the execution role
    line = next(x for x in out.splitlines() if "--policy-name labwiz-lab-bucket" in x)
    assert line.startswith("$ aws iam put-role-policy") and "arn:aws:s3:::my-lab-bucket/*" in line
    # RBAC
    assert "$ kubectl apply -f - <<'EOF'" in out
    manifest = out.split("$ kubectl apply -f - <<'EOF'", 1)[1].split("EOF", 1)[0]
    assert "kind: Role" in manifest and "kind: RoleBinding" in manifest
    assert "namespace: team-a" in manifest and "name: runner" in manifest
    assert "sagemaker.services.k8s.aws" in manifest
    # the IRSA trust policy, as JSON
    trust = next(x for x in out.splitlines() if "AssumeRoleWithWebIdentity" in x)
    assert '"system:serviceaccount:team-a:runner"' in trust
    assert ':aud": "sts.amazonaws.com"' in trust and "oidc-provider/" in trust
    assert "$ kubectl annotate -n team-a serviceaccount runner" in out
    assert (f"$ aws s3 cp {tmp_path / 's' / 'data' / 'mnist.pkl.gz'} "
            "s3://my-lab-bucket/lab1/source_data/mnist.pkl.gz") in out
    assert "$ aws iam simulate-principal-policy" in out and "put-user-policy" not in out
    assert tripwire.hits == []


def test_explain_by_default_plans_no_pod_access_and_judges_the_ack_role(tmp_path, tripwire):
    """pod_access none (the default): no pod role, user, key, Secret or annotation is planned;
    the ACK controller's role is read and IAM is asked about it (PassRole on the execution role
    with iam:PassedToService)."""
    from tests.conftest import run_labwiz

    result = run_labwiz(["--state-dir", str(tmp_path / "s"), "run", "--explain", "--only",
                         "credentials"], env=_explain_env(tripwire, tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for absent in ("create-user", "create-access-key", "create secret", "annotate",
                   "labwiz-kfp-pod-", "AssumeRoleWithWebIdentity"):
        assert absent not in out, absent
    assert ("$ kubectl -n ack-system get serviceaccount ack-sagemaker-controller -o "
            "'jsonpath={.metadata.annotations.eks\\.amazonaws\\.com/role-arn}'") in out
    line = next(x for x in out.splitlines() if "--action-names iam:PassRole" in x)
    assert ":role/labwiz-sagemaker-execution-<id>" in line
    assert "ContextKeyName=iam:PassedToService,ContextKeyValues=sagemaker.amazonaws.com" in line
    assert "sagemaker:CreateTrainingJob" in out and "$ kubectl apply -f - <<'EOF'" in out
    assert tripwire.hits == []
