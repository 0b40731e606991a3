"""The state store: atomic writes, serial and backup, and refusing files it cannot trust."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_labwiz
from wizard.errors import StateError
from wizard.secrets import Secret
from wizard.state import SCHEMA_VERSION, StateStore


def test_save_increments_serial_and_keeps_backup(state_dir):
    store = StateStore(state_dir)
    doc = store.load()
    lineage = doc["lineage"]
    store.save(doc)
    doc["inputs"]["bucket"] = "b1"
    store.save(doc)
    assert store.load()["serial"] == 2
    backup = json.loads(store.backup_path.read_text())
    assert backup["serial"] == 1 and "bucket" not in backup["inputs"]
    assert store.load()["lineage"] == lineage
    assert not list(state_dir.glob(".*.tmp")), "temporary file left behind"


def test_secret_is_refused_by_the_store(state_dir):
    store = StateStore(state_dir)
    doc = store.load()
    doc["inputs"]["token"] = Secret("nope-nope")
    with pytest.raises(TypeError, match="secret"):
        store.save(doc)
    assert not store.path.exists(), "a refused write must leave nothing"


def test_truncated_state_names_backup(state_dir):
    store = StateStore(state_dir)
    store.save(store.load())
    store.save(store.load())
    text = store.path.read_text()
    store.path.write_text(text[: len(text) // 2])
    with pytest.raises(StateError) as info:
        store.load()
    assert str(store.backup_path) in info.value.remediation
    # through the CLI: exit code 3, the message names the file, nothing is overwritten
    result = run_labwiz(["--state-dir", str(state_dir), "status"])
    assert result.returncode == 3
    assert "corrupted" in result.stderr and "state.json.backup" in result.stderr
    assert store.path.read_text() == text[: len(text) // 2]


def test_newer_schema_is_refused_naming_the_writer(state_dir):
    store = StateStore(state_dir)
    doc = store.load()
    store.save(doc)
    raw = json.loads(store.path.read_text())
    raw.update(schema_version=SCHEMA_VERSION + 1, labwiz_version="9.0.0")
    store.path.write_text(json.dumps(raw))
    result = run_labwiz(["--state-dir", str(state_dir), "run", "--yes"])
    assert result.returncode == 3
    assert f"schema version {SCHEMA_VERSION + 1}" in result.stderr and "9.0.0" in result.stderr
    assert json.loads(store.path.read_text())["schema_version"] == SCHEMA_VERSION + 1


@pytest.mark.parametrize("edit, words", [
    (lambda d: d.update(serial="seven"), "'serial'"),
    (lambda d: d["steps"].update(credentials={"status": "finished"}), "'finished'"),
    (lambda d: d.update(ledger={}), "'ledger'"),
    (lambda d: d.clear() or d.update(hello="world"), "'schema_version'"),
])
def test_hand_edited_state_is_reported_not_reset(state_dir, edit, words):
    store = StateStore(state_dir)
    store.save(store.load())
    raw = json.loads(store.path.read_text())
    edit(raw)
    store.path.write_text(json.dumps(raw))
    with pytest.raises(StateError) as info:
        store.load()
    assert words in info.value.message


def test_state_is_a_list_not_a_mapping(state_dir):
    state_dir.mkdir(parents=True)
    (state_dir / "state.json").write_text("[1, 2]")
    with pytest.raises(StateError, match="does not hold a state document"):
        StateStore(state_dir).load()
