"""Service clients for a target: boto3, the kubernetes client and ``kfp.Client``.

Steps get their clients here and nowhere else, so the sandbox and real AWS share one code path:
the only difference is the endpoint and credentials in the :class:`~wizard.target.Target`.
Each client retries throttling and 5xx answers with bounded backoff and says so through
``notify`` (the reporter's log), so a learner sees "retrying", not a frozen screen: botocore's
retries for AWS, :mod:`wizard.retry` for Kubernetes and Kubeflow Pipelines.
"""

from __future__ import annotations

from functools import cached_property
from typing import Callable

from wizard.target import Target


class Clients:
    """Lazily built clients for one target."""

    def __init__(self, target: Target, notify: Callable[[str], None] | None = None,
                 http_retries: int = 6):
        """Clients for ``target``; ``notify`` hears every retry; ``http_retries`` bounds the
        retries of each Kubernetes and KFP call."""
        self.target = target
        self.notify = notify
        self.http_retries = http_retries
        self._aws: dict[str, object] = {}

    # -- AWS -------------------------------------------------------------------------------
    @cached_property
    def session(self):
        """A boto3 session for the target (standard credential chain unless the sandbox's)."""
        import boto3

        kwargs = {}
        if self.target.region:
            kwargs["region_name"] = self.target.region
        if self.target.aws_profile:
            kwargs["profile_name"] = self.target.aws_profile
        if self.target.aws_credentials:
            key, secret = self.target.aws_credentials
            kwargs["aws_access_key_id"] = key
            kwargs["aws_secret_access_key"] = secret.reveal()
        return boto3.Session(botocore_session=_botocore_session(), **kwargs)

    def aws(self, service: str):
        """A boto3 client for ``service`` with standard retries that are reported."""
        if service not in self._aws:
            from botocore.config import Config

            config = Config(retries={"max_attempts": 8, "mode": "standard"},
                            connect_timeout=10, read_timeout=60)
            kwargs = {"config": config}
            if self.target.aws_endpoint_url:
                kwargs["endpoint_url"] = self.target.aws_endpoint_url
            client = self.session.client(service, **kwargs)
            client.meta.events.register("request-created", self._note_retry)
            self._aws[service] = client
        return self._aws[service]

    def _note_retry(self, request, operation_name=None, **_):
        attempt = (getattr(request, "context", {}) or {}).get("retries", {}).get("attempt", 1)
        if attempt and attempt > 1 and self.notify:
            self.notify(f"AWS {operation_name or 'call'}: retrying (attempt {attempt})")

    # -- Kubernetes ------------------------------------------------------------------------
    def _kube_configuration(self):
        """A copy of the target's kubernetes ``Configuration`` (see :attr:`_kube_loaded`) for
        one API client to set its own retries on."""
        import copy

        return copy.deepcopy(self._kube_loaded)

    @cached_property
    def _kube_loaded(self):
        """The kubernetes ``Configuration`` from the target's kubeconfig, or in-cluster config,
        loaded once: with exec authentication (EKS) loading it runs ``aws eks get-token``."""
        from kubernetes import client, config

        configuration = client.Configuration()
        if self.target.kubeconfig:
            config.load_kube_config(config_file=str(self.target.kubeconfig),
                                    context=self.target.kube_context,
                                    client_configuration=configuration)
        else:
            try:
                config.load_incluster_config(client_configuration=configuration)
            except config.ConfigException:
                config.load_kube_config(context=self.target.kube_context,
                                        client_configuration=configuration)
        return configuration

    @cached_property
    def kube(self):
        """A kubernetes ``ApiClient`` for the target, its retries reported."""
        from kubernetes import client

        from wizard.retry import reporting_retry

        configuration = self._kube_configuration()
        configuration.retries = reporting_retry("Kubernetes", self.notify, self.http_retries)
        return client.ApiClient(configuration)

    @cached_property
    def kube_once(self):
        """The same cluster as :attr:`kube`, asked once: no retries. For guesses (a question's
        default) that must not keep a learner waiting twice when the cluster is down; the step's
        own calls, with retries, then report the problem."""
        from kubernetes import client

        configuration = self._kube_configuration()
        configuration.retries = 0  # urllib3: the first failure is the answer
        return client.ApiClient(configuration)

    def core_v1(self, once: bool = False):
        """``CoreV1Api`` on :attr:`kube` (on :attr:`kube_once` when ``once``)."""
        from kubernetes import client

        return client.CoreV1Api(self.kube_once if once else self.kube)

    def rbac_v1(self):
        """``RbacAuthorizationV1Api`` on :attr:`kube`."""
        from kubernetes import client

        return client.RbacAuthorizationV1Api(self.kube)

    def apiextensions_v1(self):
        """``ApiextensionsV1Api`` on :attr:`kube`."""
        from kubernetes import client

        return client.ApiextensionsV1Api(self.kube)

    def custom_objects(self):
        """``CustomObjectsApi`` on :attr:`kube`."""
        from kubernetes import client

        return client.CustomObjectsApi(self.kube)

    def apps_v1(self):
        """``AppsV1Api`` on :attr:`kube`."""
        from kubernetes import client

        return client.AppsV1Api(self.kube)

    # -- Kubeflow Pipelines ------------------------------------------------------------------
    @cached_property
    def kfp(self):
        """A ``kfp.Client`` for the target's KFP host, authenticated as the target says."""
        import warnings

        import kfp

        from wizard.retry import reporting_retry

        kwargs = {"host": self.target.kfp_host}
        if self.target.kfp_token:
            kwargs["existing_token"] = self.target.kfp_token.reveal()
        if self.target.kfp_cookie:
            kwargs["cookies"] = f"authservice_session={self.target.kfp_cookie.reveal()}"
        if self.target.namespace:
            kwargs["namespace"] = self.target.namespace
        with warnings.catch_warnings():
            # "This client only works with Kubeflow Pipeline v2.0.0-beta.2 and later": true, and
            # noise on a learner's screen; an older server answers 404 on the v2beta1 API,
            # which the KFP steps report as an error
            warnings.simplefilter("ignore", FutureWarning)
            kfp_client = kfp.Client(**kwargs)
        _install_kfp_retries(kfp_client, reporting_retry("Kubeflow Pipelines", self.notify,
                                                         self.http_retries))
        return kfp_client


def _install_kfp_retries(kfp_client, retries) -> None:
    """Give every API of ``kfp_client`` the retry policy ``retries``, through public names only.

    kfp.Client builds one generated ``kfp_server_api.ApiClient`` that all its APIs share and
    takes no retry option. It exposes its generated APIs publicly (``client.runs``,
    ``client.pipelines``, ...), each with that shared client as ``api_client``.
    ``Configuration.retries`` is kfp_server_api's documented knob ("retries to override
    urllib3's default"), read when a ``RESTClientObject`` is built; so the shared client gets a
    REST client built from its configuration with the policy set. Pools made before (kfp.Client
    may ask healthz while starting) close with the old REST client.
    """
    import kfp_server_api

    api_client = kfp_client.runs.api_client
    api_client.configuration.retries = retries
    old = api_client.rest_client
    api_client.rest_client = kfp_server_api.rest.RESTClientObject(api_client.configuration)
    old.pool_manager.clear()


_AWS_MODELS = None  # the botocore data loader every session of this process shares


def _botocore_session():
    """A new botocore session whose service models come from one loader per process.

    Each step makes its own clients, so its own session; botocore's loader caches the service
    definitions it has read (a few MB of JSON for SageMaker, S3, IAM...), but per session, so
    every step read them again (a second of the endpoint test, as much of cleanup). The models
    are the installed botocore's files, the same for every session, so one loader serves all.
    """
    global _AWS_MODELS
    import botocore.session
    from botocore.loaders import create_loader

    session = botocore.session.get_session()
    if _AWS_MODELS is None:
        _AWS_MODELS = create_loader(session.get_config_variable("data_path"))
    session.register_component("data_loader", _AWS_MODELS)
    return session
