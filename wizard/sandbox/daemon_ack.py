"""The ACK controller's Deployment, made to mean something: scaling it pauses the controller.

In the lab the ACK SageMaker controller runs as the Deployment ``ack-system/ack-sagemaker-
controller``; in the sandbox it is a thread group inside the daemon and the Deployment is its
stand-in. :class:`AckScaleFollower` watches that Deployment in the Kubernetes API's store and
plays its kubelet: ``spec.replicas`` 0 stops the controller (custom resources are no longer
reconciled), anything above 0 starts a fresh one; the Deployment's status then says what is
really running (``readyReplicas``/``availableReplicas`` = ``spec.replicas`` when it runs, 0 when
paused), as ``kubectl scale deployment/ack-sagemaker-controller -n ack-system --replicas=0``
would show on a real cluster.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

log = logging.getLogger("labwiz.sandbox.daemon")

ACK_NAMESPACE = "ack-system"
ACK_DEPLOYMENT = "ack-sagemaker-controller"


def _deployment_type(crud: Any) -> Any:
    """The served apps/v1 Deployment type."""
    for t in crud.registry.all():
        if (t.group, t.version, t.plural) == ("apps", "v1", "deployments"):
            return t
    raise RuntimeError("the Kubernetes API serves no apps/v1 deployments")


def deployment_status(dep: dict[str, Any], running: int) -> dict[str, Any]:
    """The status of the stand-in Deployment with ``running`` replicas up."""
    available = running > 0
    return {
        "observedGeneration": dep["metadata"].get("generation", 1),
        "replicas": running, "readyReplicas": running, "availableReplicas": running,
        "updatedReplicas": running,
        "conditions": [{
            "type": "Available", "status": "True" if available else "False",
            "reason": "MinimumReplicasAvailable" if available else "ScaledToZero",
            "message": "Deployment has minimum availability." if available else
                       "Deployment is scaled to 0: the controller is paused."}],
    }


class AckScaleFollower:
    """Keeps the ACK controller running exactly when its Deployment asks for replicas.

    ``make_controller()`` builds a new, unstarted controller (a stopped one is never
    restarted: its watch threads may still be finishing their last read). ``kube`` is the
    daemon's started :class:`~wizard.sandbox.kube.KubeApiServer` (its store is read in-process).
    """

    def __init__(self, kube: Any, make_controller: Callable[[], Any],
                 on_change: Callable[[bool], None] | None = None):
        """Nothing starts until :meth:`sync` or :meth:`start`; ``on_change(paused)`` is told
        whenever the controller is paused or resumed (the daemon shows it in its status)."""
        self.kube = kube
        self.make_controller = make_controller
        self.on_change = on_change
        self.controller: Any = None
        self.paused = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- the Deployment ---------------------------------------------------------------------
    def wanted(self) -> int:
        """The Deployment's ``spec.replicas`` (1 when it is gone: the controller keeps going)."""
        crud = self.kube.crud
        dep = crud.store.get(_deployment_type(crud).store_key, ACK_NAMESPACE, ACK_DEPLOYMENT)
        if dep is None:
            return 1
        return int((dep.get("spec") or {}).get("replicas", 1))

    def _publish(self, running: int) -> None:
        """Write the Deployment's status when it differs from what is running."""
        crud = self.kube.crud
        t = _deployment_type(crud)
        with crud.store.lock:
            dep = crud.store.get(t.store_key, ACK_NAMESPACE, ACK_DEPLOYMENT)
            if dep is None:
                return
            status = deployment_status(dep, running)
            old = dep.get("status") or {}
            if all(old.get(k) == v for k, v in status.items() if k != "conditions") and \
                    old.get("conditions", [{}])[0].get("status") == \
                    status["conditions"][0]["status"]:
                return
            body = dict(dep, status=status)
            body["metadata"] = {k: v for k, v in dep["metadata"].items()
                                if k != "resourceVersion"}
            crud.update(t, ACK_NAMESPACE, ACK_DEPLOYMENT, body, {}, "status")

    # -- following --------------------------------------------------------------------------
    def sync(self) -> None:
        """Start or stop the controller to match the Deployment, then publish its status."""
        with self._lock:
            was_paused = self.paused
            want = self.wanted()
            exited = getattr(self.controller, "exited", None)
            if want > 0 and exited is not None and exited():
                # as a kubelet restarts a crashed container (the log keeps every run)
                log.warning("ack: the controller process exited; starting it again")
                self.controller.stop(timeout=1)
                self.controller = None
            if want > 0 and self.controller is None:
                controller = self.make_controller()
                controller.start()
                self.controller, self.paused = controller, False
                log.info("ack: deployment has %d replica(s): controller running", want)
            elif want == 0 and self.controller is not None:
                controller, self.controller, self.paused = self.controller, None, True
                # its workers end at once; a watch thread may sit in its last read (up to
                # 5 s) but only feeds the dead controller's queue, so no long join is needed
                controller.stop(timeout=2)
                log.info("ack: deployment scaled to 0: controller paused")
            elif want == 0:
                self.paused = True
            self._publish(want if self.controller is not None else 0)
            if self.on_change is not None and self.paused != was_paused:
                self.on_change(self.paused)

    def _loop(self) -> None:
        """Re-sync after every change in the store (checking is a dict lookup)."""
        store = self.kube.crud.store
        while not self._stop.is_set():
            seen = store.rv
            try:
                self.sync()
            except Exception:  # noqa: BLE001 - keep following; the next change retries
                log.exception("ack: following the deployment's replicas failed")
                self._stop.wait(1.0)
            # from `seen`: a scale that lands while sync runs is not missed (our own status
            # write costs one extra, idle pass); the timeout re-checks regardless
            store.wait_for_change(seen, 1.0)

    def start(self) -> "AckScaleFollower":
        """Sync once, then follow the Deployment in a background thread."""
        self.sync()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="ack-scale", daemon=True)
        self._thread.start()
        return self

    def healthy(self) -> bool:
        """Running as asked: paused on purpose, or the controller's threads alive."""
        if self._thread is None or not self._thread.is_alive():
            return False
        controller = self.controller
        if controller is None:
            return self.paused
        if hasattr(controller, "healthy"):  # the real controller: its process and /healthz
            return bool(controller.healthy())
        threads = getattr(controller, "_threads", None)
        return bool(threads) and all(t.is_alive() for t in threads)

    def describe(self) -> dict[str, Any]:
        """Which controller runs (``sandbox status`` shows it): the real one's pid and log."""
        controller = self.controller
        if controller is not None and hasattr(controller, "describe"):
            self._described = dict(controller.describe(), pid=None)
            return controller.describe()
        return getattr(self, "_described", None) or {"kind": "builtin"}

    def stop(self, timeout: float = 10.0) -> None:
        """Stop following and stop the controller."""
        self._stop.set()
        self.kube.crud.store.wake_all()
        if self._thread is not None:
            self._thread.join(max(0.1, timeout))
        with self._lock:
            if self.controller is not None:
                self.controller.stop(timeout=timeout)
                self.controller = None
