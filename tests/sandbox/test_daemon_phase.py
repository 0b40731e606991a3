"""The daemon's phase once every part has started: ready, or partial at once when a part
failed (the compute zygote's warm-up, started later, never decides it)."""

from __future__ import annotations

import json
from types import SimpleNamespace

from wizard.sandbox.daemon import Daemon


def _daemon(tmp_path, fail: str | None) -> tuple[Daemon, list]:
    """A daemon whose parts are stand-ins; ``fail`` names one that fails to start."""
    daemon = Daemon(tmp_path, "eu-west-1", {})
    warmed: list = []
    app = SimpleNamespace(pool=SimpleNamespace(warm_up=lambda: warmed.append(True)))

    def aws() -> None:
        """The AWS endpoint with SageMaker attached."""
        daemon.parts["aws"].obj = SimpleNamespace(dispatcher=SimpleNamespace(sagemaker_app=app))
        daemon._set("aws", "running", url="http://127.0.0.1:1")
        daemon.parts["sagemaker"].obj = app
        daemon._set("sagemaker", "running", url="http://127.0.0.1:1")

    def part(name: str):
        """A part that starts, or raises when it is the failing one."""
        def start() -> None:
            """Start (or fail)."""
            if name == fail:
                raise RuntimeError(f"{name} broke")
            daemon.parts[name].obj = SimpleNamespace()
            daemon._set(name, "running", url="http://127.0.0.1:2" if name != "provision"
                        else None)
        return start

    daemon.start_aws = aws
    for name, attr in (("kube", "start_kube"), ("provision", "provision"), ("kfp", "start_kfp"),
                       ("ack", "start_ack")):
        setattr(daemon, attr, part(name))
    daemon.account = SimpleNamespace(
        account_id="123456789012", cluster_name="c", bucket="b", execution_role_arn="r",
        oidc_issuer="o", oidc_provider_arn="p", cluster_arn="a", ack_role_arn="k",
        node_role_arn="n", learner_user_arn="u", credentials=lambda: {})
    return daemon, warmed


def test_all_parts_healthy_is_ready_and_the_zygote_waits_for_the_lab(tmp_path):
    """Every part up: phase ready, sandbox.json written; the compute zygote is not started
    until :meth:`Daemon.warm_compute` (the KFP API's first POST) asks for it."""
    daemon, warmed = _daemon(tmp_path, None)
    daemon.start()
    assert daemon.phase == "ready" and warmed == []
    assert json.loads((tmp_path / "runtime.json").read_text())["phase"] == "ready"
    assert (tmp_path / "sandbox.json").exists()
    daemon.warm_compute()
    assert warmed == [True]


def test_a_failed_part_is_partial_at_once_even_with_a_zygote(tmp_path):
    """The ACK controller failing: phase partial in runtime.json (what `sandbox up` reports at
    once), not left "starting" until its 90 s bound because SageMaker has a zygote."""
    daemon, _ = _daemon(tmp_path, "ack")
    daemon.start()
    assert daemon.phase == "partial"
    assert json.loads((tmp_path / "runtime.json").read_text())["phase"] == "partial"
    assert not (tmp_path / "sandbox.json").exists()
