"""ETag / If-Match for optimistic locking over HTTP: the row's version is its (weak) entity tag.

A client that sends `If-Match` with a stale tag gets 412 Precondition Failed before anything is written;
without the header the body's `version` still guards the write (409 when stale).
"""

from __future__ import annotations

from fastapi import HTTPException, Response, status


def etag_for(version: int) -> str:
    return f'W/"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_for(version)


def _tags(header: str) -> list[str]:
    tags = []
    for part in header.split(","):
        tag = part.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tags.append(tag.strip('"'))
    return tags


def check_if_match(if_match: str | None, version: int) -> None:
    """Raise 412 when `If-Match` names a version other than the current one (`*` matches any)."""
    if if_match is None or not if_match.strip():
        return
    tags = _tags(if_match)
    if "*" in tags or str(version) in tags:
        return
    raise HTTPException(
        status_code=status.HTTP_412_PRECONDITION_FAILED,
        detail=(
            f"the row changed since you read it: If-Match {if_match.strip()}, "
            f"current ETag {etag_for(version)}"
        ),
        headers={"ETag": etag_for(version)},
    )
