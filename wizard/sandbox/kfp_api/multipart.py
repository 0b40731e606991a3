"""Reading the ``uploadfile`` part of a multipart/form-data upload."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from .errors import invalid

FIELD = "uploadfile"


def parse_upload(headers: Any, body: bytes) -> tuple[str | None, bytes]:
    """Return ``(filename, bytes)`` of the ``uploadfile`` form field.

    Raises InvalidArgument, with what to send instead, when the request is not a multipart form
    or has no such field.
    """
    ctype = headers.get("Content-Type") or ""
    if not ctype.lower().startswith("multipart/form-data"):
        raise invalid(f"an upload must be multipart/form-data with the file in the '{FIELD}' "
                      f"field, not '{ctype or 'no Content-Type'}'")
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {ctype}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body)
    if not message.is_multipart():
        raise invalid("the multipart upload cannot be read (bad boundary?)")
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == FIELD:
            data = part.get_payload(decode=True) or b""
            return part.get_filename(), data
    raise invalid(f"the upload has no '{FIELD}' file field; send the pipeline package as "
                  f"multipart field '{FIELD}'")
