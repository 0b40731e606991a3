"""The doctor reads roles as the cluster and IAM see them: the pods' live annotation, and the ACK
controller's role judged by its trust and by IAM's policy simulator."""

from __future__ import annotations

import json

SAGEMAKER_FULL = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"


def test_pod_role_trust_reads_the_live_annotation_not_the_recorded_role(lab):
    """The state records the good role; the account is re-annotated with a role whose trust names
    another service account: pods get that one, so the check must judge that one."""
    iam = lab.clients.aws("iam")
    other = "labwiz-doctor-other-pod-role"
    wrong = lab.trust_policy(sub=f"system:serviceaccount:kubeflow:{lab.sa}")
    arn = iam.create_role(RoleName=other, AssumeRolePolicyDocument=wrong)["Role"]["Arn"]
    lab.annotate(arn)
    try:
        result = lab.doctor("pod-role-trust")["pod-role-trust"]
    finally:
        lab.annotate(lab.pod_role_arn)
        iam.delete_role(RoleName=other)
    assert lab.write_state()["steps"]["credentials"]["outputs"]["pod_role_arn"] == lab.pod_role_arn
    assert result.status == "fail", result.found
    assert other in result.found


def _controller_role(lab) -> str:
    """The ACK controller's role name, from its service account's annotation."""
    sa = lab.core().read_namespaced_service_account("ack-sagemaker-controller", "ack-system")
    return sa.metadata.annotations["eks.amazonaws.com/role-arn"].rsplit("/", 1)[-1]


def test_ack_controller_role_is_checked_by_trust_and_by_iams_simulator(lab):
    iam = lab.clients.aws("iam")
    name = _controller_role(lab)
    healthy = lab.doctor("ack-irsa")["ack-irsa"]
    assert healthy.status == "pass", healthy.found
    assert "through the cluster's OIDC provider" in healthy.found
    assert "may call SageMaker for the lab's" in healthy.found
    assert "may pass " + lab.info.execution_role_arn.rsplit("/", 1)[-1] + " to SageMaker" in \
        healthy.found

    iam.detach_role_policy(RoleName=name, PolicyArn=SAGEMAKER_FULL)
    try:
        denied = lab.doctor("ack-irsa")["ack-irsa"]
    finally:
        iam.attach_role_policy(RoleName=name, PolicyArn=SAGEMAKER_FULL)
    assert denied.status == "fail"
    assert "sagemaker:CreateTrainingJob (implicitDeny)" in denied.found
    assert "iam:PassRole on the execution role " + lab.info.execution_role_arn in denied.found
    assert f"attach-role-policy --role-name {name}" in denied.remediation

    deny_pass = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}]})
    iam.put_role_policy(RoleName=name, PolicyName="no-pass-role", PolicyDocument=deny_pass)
    try:
        no_pass = lab.doctor("ack-irsa")["ack-irsa"]
    finally:
        iam.delete_role_policy(RoleName=name, PolicyName="no-pass-role")
    assert no_pass.status == "fail" and "iam:PassRole" in no_pass.found
    assert "explicitDeny" in no_pass.found

    trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    other = json.loads(json.dumps(trust).replace("ack-system:ack-sagemaker-controller",
                                                 "ack-system:someone-else"))
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(other))
    try:
        untrusted = lab.doctor("ack-irsa")["ack-irsa"]
    finally:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
    assert untrusted.status == "fail", untrusted.found
    assert "someone-else" in untrusted.found
    assert f"update-assume-role-policy --role-name {name}" in untrusted.remediation
    assert lab.doctor("ack-irsa")["ack-irsa"].status == "pass"
