"""Lab step 'credentials': give SageMaker and the pipeline the AWS access they need."""

from __future__ import annotations

from wizard.errors import NotReadyError
from wizard.protocol import Context, Reporter, Step


class CredentialsStep(Step):
    """Give SageMaker and the pipeline the AWS access they need."""

    id = "credentials"
    title = "Credentials"
    summary = "Give SageMaker and the pipeline the AWS access they need."
    lesson = """Three identities take part in this lab, and mixing them up is the most common way to get stuck.

* **The SageMaker execution role** is assumed by SageMaker itself while it runs your jobs and hosts
  your endpoint. It must trust `sagemaker.amazonaws.com` and be able to read and write the lab bucket.
* **The pipeline's identity** is what the pipeline pods use to create SageMaker custom resources. With
  IRSA (IAM Roles for Service Accounts) the pods' Kubernetes service account is annotated with an IAM
  role whose trust policy names the cluster's OIDC provider and exactly that service account.
* **RBAC** lets that service account create and watch the ACK SageMaker custom resources.

The wizard creates what is missing, reuses what is right, and repairs what is wrong after asking."""
    creates = ('iam-role', 'iam-policy', 'iam-user', 'iam-access-key', 'k8s-secret', 'k8s-annotation', 'k8s-role', 'k8s-rolebinding')

    def run(self, ctx: Context, reporter: Reporter) -> dict:
        """Not available yet in this version: fail plainly rather than pretend."""
        raise NotReadyError(
            f"The '{self.title}' step cannot run in this version of labwiz yet.",
            remediation="Skip it with --skip credentials if you did this part by hand.",
        )
