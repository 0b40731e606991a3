"""The sandbox's AWS endpoint: moto in-process behind :class:`AwsDispatcher`, on loopback.

Shape as every sandbox server: ``AwsServer(data_dir, host, port)``, ``.start()``, ``.url``,
``.healthy()``, ``.stop()``. State lives in ``data_dir`` (moto snapshots and blobs), so a stop
and a start, or a SIGKILL and a start, keep IAM roles, access keys, S3 objects, EKS clusters and
log groups with their ids.
"""

from __future__ import annotations

import logging
import os
import threading
import urllib.request
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
access_log = logging.getLogger("labwiz.sandbox.aws.access")


class AwsServer:
    """moto's services plus our SageMaker app behind one loopback URL."""

    def __init__(self, data_dir: Path, host: str = "127.0.0.1", port: int = 0,
                 faults: Any = None):
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self.faults = faults
        self.dispatcher: Any = None
        self.store: Any = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.restored: list[str] = []

    @property
    def url(self) -> str:
        """The endpoint URL (valid after :meth:`start`)."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Restore moto's state, bind the port and serve in a background thread.

        Raises ``OSError`` (errno EADDRINUSE) when a fixed port is taken.
        """
        # must be set before moto builds its IAM backend; the lab account has AWS's policies
        os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        from .dispatch import AwsDispatcher
        from .persist import MotoStore

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = MotoStore(self.data_dir / "moto")
        self.restored = self.store.restore()
        _prime_iam()
        moto_app = DomainDispatcherApplication(create_backend_app)
        self.dispatcher = AwsDispatcher(moto_app, self.faults, self.store)

        class QuietHandler(MotoRequestHandler):
            """moto's handler, with the request log sent to our logger (the daemon's log file)."""

            def log_request(self, code: Any = "-", size: Any = "-") -> None:
                access_log.info('%s "%s" %s', self.address_string(), self.requestline, code)

            def log(self, type: str, message: str, *args: Any) -> None:
                getattr(access_log, "error" if type == "error" else "info")(message, *args)

        self._server = make_server(self.host, self.port, self.dispatcher, threaded=True,
                                   request_handler=QuietHandler)
        self.port = self._server.server_address[1]
        self.store.start()
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-endpoint",
                                        daemon=True)
        self._thread.start()
        log.info("AWS endpoint on %s (restored: %s)", self.url, ", ".join(self.restored) or "none")

    def attach_sagemaker(self, app: Any, problem: str | None = None) -> None:
        """Route SageMaker calls to ``app`` (or answer 503 quoting ``problem``)."""
        self.dispatcher.attach_sagemaker(app, problem)

    def set_lab_bucket(self, bucket: str) -> None:
        """Name the bucket the ``s3=AccessDenied`` fault closes."""
        self.dispatcher.lab_bucket = bucket

    def mark_changed(self, service: str | None = None) -> None:
        """Tell the store that code in this process changed moto objects directly."""
        self.store.mark_dirty(service)

    def healthy(self) -> bool:
        """Whether the endpoint answers its health check."""
        if self._thread is None or not self._thread.is_alive():
            return False
        try:
            with urllib.request.urlopen(f"{self.url}/_labwiz/health", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        """Stop serving, shut the SageMaker app down and write a final snapshot."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        app = self.dispatcher.sagemaker_app if self.dispatcher else None
        if app is not None and hasattr(app, "shutdown"):
            try:
                app.shutdown()
            except Exception:  # noqa: BLE001 - shutting down must go on
                log.exception("SageMaker app shutdown failed")
        if self.store is not None:
            self.store.stop()


def _prime_iam() -> None:
    """Create the default account's IAM backends up front, the non-``aws`` ones lean.

    moto looks every access key up in all six partitions on each call, building an IAM backend
    (with some 1,600 AWS managed policies) for each on first use: about a second. The sandbox
    is all in the ``aws`` partition, so the others are built without the managed policies,
    before the port opens (no request can observe the switch of the setting).
    """
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends
    from moto.utilities.utils import PARTITION_NAMES

    account = iam_backends[DEFAULT_ACCOUNT_ID]
    account["aws"]  # noqa: B018 - builds (or keeps the restored) aws partition, policies loaded
    saved = os.environ.get("MOTO_IAM_LOAD_MANAGED_POLICIES")
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "false"
    try:
        for partition in PARTITION_NAMES:
            account[partition]  # noqa: B018 - indexing builds the backend
    finally:
        if saved is None:
            os.environ.pop("MOTO_IAM_LOAD_MANAGED_POLICIES", None)
        else:
            os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = saved
