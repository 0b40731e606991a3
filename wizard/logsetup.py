"""Logging to ``labwiz.log`` in the state directory, with secrets scrubbed from every record."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from wizard.paths import LOG_FILE, ensure_private_dir, open_private
from wizard.secrets import redact


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's final message, whatever formatting put them there."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            import traceback

            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)))
            record.exc_info = None
        return True


def setup_logging(state_dir: Path, verbose: bool = False) -> Path:
    """Send labwiz's log to the state directory's log file (0600); with ``verbose`` also stderr."""
    ensure_private_dir(state_dir)
    path = Path(state_dir) / LOG_FILE
    os.close(open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND))  # create it 0600
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_labwiz", False):
            root.removeHandler(handler)
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler._labwiz = True
    file_handler.addFilter(RedactingFilter())
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(file_handler)
    if verbose:
        stream = logging.StreamHandler()
        stream._labwiz = True
        stream.addFilter(RedactingFilter())
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(stream)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # the AWS and HTTP libraries are chatty at INFO and may echo request headers at DEBUG
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer", "kubernetes", "kfp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
