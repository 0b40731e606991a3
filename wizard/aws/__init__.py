"""AWS helpers the steps share: ARN and name validation, IAM policy documents, error translation."""
