"""An uploaded file for the import routes: a multipart `file` part or the raw request body, capped at the
upload limit. Async end to end (no database here), so the routes that use it stay plain `def`."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import UploadFile

from app.config import get_settings
from app.services.errors import ValidationFailed


async def upload_content(request: Request) -> bytes:
    """The file's bytes: the `file` part of a multipart form, else the body itself (e.g. `text/csv` or JSON)."""
    limit = get_settings().max_upload_bytes
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed("the form has no 'file' part", field="file")
        content = await upload.read(limit + 1)
    else:
        content = await request.body()
    if len(content) > limit:
        raise ValidationFailed(f"file is larger than the limit of {limit} bytes", field="file")
    if not content.strip():
        raise ValidationFailed("the file is empty", field="file")
    return content


def upload_text(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("file is not UTF-8 text", field="file") from exc
