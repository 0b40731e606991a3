"""Lab step 'endpoint-test': send handwritten digits to the endpoint and look at its predictions."""

from __future__ import annotations

from wizard import endpoint as ep
from wizard.aws.errors import error_code
from wizard.errors import InputError
from wizard.protocol import Context, InputSpec, Reporter, Step, VerifyResult, cmd

#: digits drawn in the terminal (the rest are only counted in the table)
SHOWN = 10


def _count(value, ctx) -> int:
    """How many test digits to send: 1 to 1000 (one request must stay under SageMaker's 6 MB)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InputError(f"'{value}' is not a whole number of digits.",
                         remediation="Give a number from 1 to 1000, e.g. 200.") from None
    if not 1 <= number <= 1000:
        raise InputError(f"{number} digits is out of range.",
                         remediation="Give a number from 1 to 1000 (one request holds them all).")
    return number


class EndpointTestStep(Step):
    """Send handwritten digits to the endpoint and look at its predictions."""

    id = "endpoint-test"
    title = "Endpoint test"
    summary = "Send handwritten digits to the endpoint and look at its predictions."
    lesson = """The k-means model groups digits into ten clusters without ever seeing a label. The wizard sends test digits
to the endpoint as CSV, draws each digit beside the cluster it was given, and tabulates clusters against the
true labels."""
    creates = ()

    def input_specs(self) -> list[InputSpec]:
        """How many test digits to send."""
        return [InputSpec("test_digits", "How many test digits to send to the endpoint", default=200,
                          validate=_count, required=False,
                          help="They go in one text/csv request, one digit per line.",
                          level="advanced")]

    def run(self, ctx: Context, reporter: Reporter) -> dict:
        """Find the endpoint, wait until it serves, send the digits, show and score the answers."""
        namespace = ctx.outputs_of("credentials").get("namespace") or ctx.input("namespace")
        name = ep.find_endpoint(ctx, reporter, namespace)
        ep.wait_in_service(ctx, reporter, name, namespace)
        count = ctx.input("test_digits") or 200
        pixels, labels = ep.load_test_digits(ctx, reporter, int(count))
        predictions = ep.invoke(ctx, reporter, name, pixels)
        clusters = [p["cluster"] for p in predictions]
        table, purity = ep.cluster_table(labels, clusters)
        # a digit "matches" when its cluster's most common true label is its own label
        majority = {c: max(row, key=row.get) for c, row in table.items()}
        reporter.show("digits", {"endpoint": name, "digits": [
            {"pixels": pixels[i], "label": labels[i], **predictions[i],
             "match": majority.get(predictions[i]["cluster"]) == labels[i]}
            for i in range(min(SHOWN, len(pixels)))]})
        reporter.show("table", ep.table_view(table, purity, len(labels)))
        reporter.log(f"Cluster purity {purity:.2f} over {len(labels)} digits (chance: about 0.1), "
                     "the share of digits in their cluster's most common label.", "success")
        return {"endpoint_name": name, "purity": round(purity, 4), "predictions": {
            "count": len(predictions), "clusters_used": len(table),
            "mean_distance": round(sum(p["distance"] for p in predictions) / len(predictions), 4),
            "sample": [{"label": labels[i], **predictions[i]} for i in range(min(SHOWN, len(labels)))]}}

    def verify(self, ctx: Context, outputs: dict) -> VerifyResult:
        """The endpoint still exists and is InService."""
        sm = ctx.clients.aws("sagemaker")
        try:
            status = sm.describe_endpoint(EndpointName=outputs["endpoint_name"])["EndpointStatus"]
        except Exception as exc:  # noqa: BLE001
            if error_code(exc) == "ValidationException":
                return VerifyResult(False, f"the endpoint {outputs['endpoint_name']} no longer exists")
            raise
        if status != "InService":
            return VerifyResult(False, f"the endpoint {outputs['endpoint_name']} is {status}")
        return VerifyResult(True)

    def commands(self, ctx: Context) -> list:
        """Wait for the endpoint, then invoke it with one digit as CSV (the file the run writes)."""
        from pathlib import Path

        name = (ctx.outputs_of("endpoint-test").get("endpoint_name")
                or ctx.outputs_of("run-monitoring").get("endpoint_name") or "<endpoint-name>")
        digit = Path(ctx.state_dir) / "data" / "digit.csv"
        return [
            cmd("aws", "sagemaker", "describe-endpoint", "--endpoint-name", name, "--query",
                "[EndpointStatus,FailureReason]"),
            cmd("aws", "sagemaker", "wait", "endpoint-in-service", "--endpoint-name", name),
            cmd("aws", "sagemaker-runtime", "invoke-endpoint", "--endpoint-name", name,
                "--content-type", "text/csv", "--body", f"fileb://{digit}", "out.json",
                note=f"{digit}: one test digit, 784 pixel values in [0, 1] (this step writes it)"),
        ]
