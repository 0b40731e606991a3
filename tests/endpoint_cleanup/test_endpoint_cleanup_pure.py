"""The pure pieces: job output prefixes cleanup may remove, item round trips, purity."""

from __future__ import annotations

from wizard.cleanup.plan import Item, _outputs
from wizard.endpoint import cluster_table, to_csv


def test_job_outputs_are_the_jobs_own_prefixes():
    """Each prefix ends where the job's own output ends, never matching a sibling."""
    processing = {"processingOutputConfig": {"outputs": [
        {"s3Output": {"s3URI": "s3://b/lab1/train_data"}}, {"outputName": "no-s3"}]}}
    assert _outputs("ProcessingJob", processing) == ["s3://b/lab1/train_data/"]
    training = {"trainingJobName": "job", "outputDataConfig": {"s3OutputPath": "s3://b/lab1/output/"}}
    assert _outputs("TrainingJob", training) == ["s3://b/lab1/output/job/"]
    tuning = {"hyperParameterTuningJobName": "hpo",
              "trainingJobDefinition": {"outputDataConfig": {"s3OutputPath": "s3://b/lab1/hpo"}}}
    assert _outputs("HyperParameterTuningJob", tuning) == ["s3://b/lab1/hpo/hpo-"]
    assert _outputs("Model", {"modelName": "m"}) == []


def test_item_round_trip_keeps_the_ledger_reference():
    """What the outputs keep is enough for verify() to re-check the item."""
    item = Item("k8s-annotation", "ns/sa/key", namespace="ns", details={"previous": None},
                ledger=("k8s-annotation", "ns/sa/key"))
    back = Item.from_dict({**item.to_dict(), "result": "removed"})
    assert back == item


def test_purity_counts_each_clusters_majority():
    """Purity: share of digits whose cluster's majority label is their own."""
    table, purity = cluster_table([1, 1, 2, 2, 3], [0, 0, 0, 5, 5])
    assert table == {0: {1: 2, 2: 1}, 5: {2: 1, 3: 1}}
    assert purity == 3 / 5
    assert cluster_table([], []) == ({}, 0.0)
    assert to_csv([[0.0, 0.5, 1.0]]) == "0,0.5,1"
