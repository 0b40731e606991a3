"""A sandbox lab brought to the point the doctor's checks need, and ways to break it.

:class:`Lab` starts a real sandbox, then does what the lab's first steps do (a pod role with IRSA
trust, the service account's annotation, RBAC for the ACK resources, the data and script in S3)
through the real clients, and writes a state document saying those steps are done. Tests break
one thing, run the doctor, and put it back.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from wizard.doctor import run_checks
from wizard.doctor.runner import doctor_target
from wizard.sandbox import faults as faults_mod
from wizard.sandbox import manager
from wizard.state import StateStore, new_document

POD_ROLE = "kfp-sagemaker-pod-role"
SAGEMAKER_POLICY = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
GROUP = "sagemaker.services.k8s.aws"
RBAC_NAME = "labwiz-sagemaker-resources"
IMAGE = "438346466558.dkr.ecr.eu-west-1.amazonaws.com/kmeans:1"


class Lab:
    """A running sandbox with the lab's first steps done (see the module docstring)."""

    def __init__(self, state_dir: Path):
        """Keep what the instance needs (see the class docstring)."""
        os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        os.environ["AWS_EC2_METADATA_DISABLED"] = "true"  # never reach for an instance role
        self.state_dir = Path(state_dir)
        self.info = manager.up(self.state_dir)
        self.sdir = manager.sandbox_dir(self.state_dir)
        self.target = doctor_target(self.state_dir, sandbox=True)
        from wizard.clients import Clients

        self.clients = Clients(self.target)
        self.namespace = self.info.profile_namespace
        self.sa = self.info.service_account
        self.bucket = self.info.bucket
        self.extra = self.info.extra

    # -- doing what the lab's steps do ------------------------------------------------------------
    def trust_policy(self, sub: str | None = None) -> str:
        """An IRSA trust policy for the pipeline's service account (or ``sub``)."""
        oidc = self.extra["oidc_issuer"].removeprefix("https://")
        return json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": self.extra["oidc_provider_arn"]},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{oidc}:aud": "sts.amazonaws.com",
                f"{oidc}:sub": sub or f"system:serviceaccount:{self.namespace}:{self.sa}"}}}]})

    def setup(self) -> "Lab":
        """Create the pod role, annotation, RBAC and S3 objects; write the state."""
        iam = self.clients.aws("iam")
        try:
            self.pod_role_arn = iam.get_role(RoleName=POD_ROLE)["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            self.pod_role_arn = iam.create_role(
                RoleName=POD_ROLE, AssumeRolePolicyDocument=self.trust_policy())["Role"]["Arn"]
            iam.attach_role_policy(RoleName=POD_ROLE, PolicyArn=SAGEMAKER_POLICY)
        self.annotate(self.pod_role_arn)
        self.grant_rbac()
        s3 = self.clients.aws("s3")
        s3.put_object(Bucket=self.bucket, Key="lab1/source_data/mnist.pkl.gz", Body=b"data")
        s3.put_object(Bucket=self.bucket, Key="lab1/processing_code/kmeans_preprocessing.py",
                      Body=b"print('preprocess')\n")
        self.write_state()
        return self

    def write_state(self, **changes) -> dict:
        """Write a state with credentials, data-upload and crd-selection done; ``changes`` are
        merged into steps (``steps={...}``), inputs (``inputs={...}``) or the ledger."""
        doc = StateStore(self.state_dir).load() if StateStore(self.state_dir).exists() \
            else new_document()
        doc["target"] = self.target.describe()
        doc["inputs"] = {"region": self.info.region, "bucket": self.bucket,
                         "namespace": self.namespace, "service_account": self.sa,
                         "execution_role_arn": self.info.execution_role_arn,
                         "pod_access": "irsa", "cluster_name": self.info.cluster_name}
        done = {"status": "done", "attempts": 1}
        doc["steps"] = {
            "credentials": dict(done, outputs={
                "account_id": self.info.account_id, "region": self.info.region,
                "cluster_name": self.info.cluster_name, "namespace": self.namespace,
                "service_account": self.sa, "execution_role_arn": self.info.execution_role_arn,
                "pod_role_arn": self.pod_role_arn, "access_mode": "irsa",
                "oidc_issuer": self.extra["oidc_issuer"]}),
            "data-upload": dict(done, outputs={
                "bucket": self.bucket, "region": self.info.region, "prefix": "lab1",
                "data_uri": f"s3://{self.bucket}/lab1/source_data/mnist.pkl.gz",
                "script_uri": f"s3://{self.bucket}/lab1/processing_code/"
                              "kmeans_preprocessing.py"}),
            "crd-selection": dict(done, outputs={"source": "sandbox", "crds": []}),
        }
        doc["ledger"] = []
        for key, value in changes.items():
            if key == "steps":
                for step_id, rec in value.items():
                    if rec is None:
                        doc["steps"].pop(step_id, None)
                    else:
                        doc["steps"][step_id] = rec
            elif key == "inputs":
                doc["inputs"].update(value)
            elif key == "credentials":
                doc["steps"]["credentials"]["outputs"].update(value)
            else:
                doc[key] = value
        StateStore(self.state_dir).save(doc)
        return doc

    # -- Kubernetes helpers ---------------------------------------------------------------------
    def core(self):
        """CoreV1Api as the cluster admin."""
        return self.clients.core_v1()

    def annotate(self, arn: str | None) -> None:
        """Set (or with None remove) the service account's IRSA annotation."""
        self.core().patch_namespaced_service_account(self.sa, self.namespace, {
            "metadata": {"annotations": {"eks.amazonaws.com/role-arn": arn}}})

    def grant_rbac(self) -> None:
        """A Role and RoleBinding letting the pipeline's service account manage ACK resources."""
        from kubernetes.client.exceptions import ApiException

        rbac = self.clients.rbac_v1()
        role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": RBAC_NAME, "namespace": self.namespace},
                "rules": [{"apiGroups": [GROUP], "resources": ["*"],
                           "verbs": ["create", "get", "list", "watch", "delete", "patch",
                                     "update"]}]}
        binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": RBAC_NAME, "namespace": self.namespace},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                               "name": RBAC_NAME},
                   "subjects": [{"kind": "ServiceAccount", "name": self.sa,
                                 "namespace": self.namespace}]}
        for create, body in ((rbac.create_namespaced_role, role),
                             (rbac.create_namespaced_role_binding, binding)):
            try:
                create(self.namespace, body)
            except ApiException as exc:
                if exc.status != 409:
                    raise

    def create_cr(self, obj: dict) -> dict:
        """Create a SageMaker custom resource in the profile namespace."""
        plural = obj["kind"].lower() + "s"
        return self.clients.custom_objects().create_namespaced_custom_object(
            GROUP, "v1alpha1", self.namespace, plural, obj)

    def delete_cr(self, kind: str, name: str, timeout: float = 120) -> None:
        """Delete a custom resource and wait until it is gone (ignoring one that is gone).

        ACK's finalizer makes a delete asynchronous; the next test's doctor run reads every lab
        resource in the namespace, so one still on its way out must not be there for it.
        """
        from kubernetes.client.exceptions import ApiException

        api, plural = self.clients.custom_objects(), kind.lower() + "s"
        try:
            api.delete_namespaced_custom_object(GROUP, "v1alpha1", self.namespace, plural, name)
        except ApiException as exc:
            if exc.status != 404:
                raise
        deadline = time.monotonic() + timeout
        while True:
            try:
                api.get_namespaced_custom_object(GROUP, "v1alpha1", self.namespace, plural, name)
            except ApiException as exc:
                if exc.status == 404:
                    return
                raise
            assert time.monotonic() < deadline, f"{kind} {name} was never deleted"
            time.sleep(0.2)

    def wait_condition(self, kind: str, name: str, ctype: str, timeout: float = 120) -> dict:
        """Wait until a custom resource has condition ``ctype`` True; return it."""
        api = self.clients.custom_objects()
        deadline = time.monotonic() + timeout
        obj = {}
        while time.monotonic() < deadline:
            obj = api.get_namespaced_custom_object(GROUP, "v1alpha1", self.namespace,
                                                   kind.lower() + "s", name)
            for cond in (obj.get("status") or {}).get("conditions") or []:
                if cond.get("type") == ctype and cond.get("status") == "True":
                    return cond
            time.sleep(0.2)
        raise AssertionError(f"{kind}/{name} never got {ctype}: {obj.get('status')}")

    # -- faults and the doctor ------------------------------------------------------------------
    def set_faults(self, *specs: str) -> None:
        """Replace the sandbox's faults (none clears them)."""
        faults_mod.write(self.sdir, [faults_mod.parse(s) for s in specs])

    def doctor(self, *names: str, target=None, **kwargs) -> dict:
        """Run the doctor (the named checks, or all) and return results by name."""
        results = run_checks(self.state_dir, target or self.target, list(names) or None,
                             **kwargs)
        return {r.name: r for r in results}

    def stop(self) -> None:
        """Stop the sandbox."""
        manager.down(self.state_dir)
