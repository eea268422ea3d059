"""Hostile input: strings are stored as text and shown escaped; bad numbers, NUL characters, huge ids and
oversized uploads are refused with a clear 4xx (never a 500), on both backends."""

from __future__ import annotations

import io
import types
import typing
import uuid
from typing import Any

import pytest
from pydantic import BaseModel

from app.web import schemas

SCRIPT = '<script>alert("pw-xss")</script>'
IMG = '"><img src=x onerror=alert(1)>'
HOSTILE = [
    SCRIPT,
    IMG,
    "Robert'); DROP TABLE accelerators;--",
    "1 OR 1=1; SELECT * FROM users --",
    "quotes ' \" ` and back\\slash",
    "ünïcödé 中文 🚀 \u202eRTL\u202c zero\u200bwidth",
    "{{ 7*7 }} {% raw %} ${7*7}",
    "line\nbreak\ttab",
]

RESOURCES: dict[str, tuple[type[BaseModel], dict[str, Any], str]] = {
    # path: (create schema, a valid body, the field that must be unique)
    "accelerators": (
        schemas.AcceleratorCreate,
        {"name": "x", "vendor": "Test", "memory_gb": 80, "memory_bandwidth_tb_s": 3.35},
        "name",
    ),
    "price-quotes": (
        schemas.PriceQuoteCreate,
        {
            "provider": "Test",
            "instance_type": "x",
            "accelerator_count": 8,
            "pricing_model": "on_demand",
            "usd_per_hour": 20.0,
            "effective_from": "2025-01-01",
        },
        "instance_type",
    ),
    "market-prices": (
        schemas.MarketPriceCreate,
        {
            "provider": "Test",
            "model_name": "x",
            "input_usd_per_million": 1.0,
            "output_usd_per_million": 2.0,
            "effective_date": "2025-01-01",
            "event_type": "launch",
        },
        "model_name",
    ),
    "models": (
        schemas.ModelConfigCreate,
        {"name": "x", "workload": "language", "parameter_count": 7e9},
        "name",
    ),
    "scenarios": (schemas.ScenarioCreate, {"name": "x"}, "name"),
}


def _text_fields(schema: type[BaseModel]) -> list[tuple[str, int | None, int]]:
    """(field, max_length, min_length) of every free-text field (not enums, not dates)."""
    found = []
    for name, info in schema.model_fields.items():
        annotation = info.annotation
        options = (
            typing.get_args(annotation)
            if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union
            else (annotation,)
        )
        metadata = list(info.metadata)
        bases = []
        for option in options:
            if typing.get_origin(option) is typing.Annotated:
                base, *extra = typing.get_args(option)
                bases.append(base)
                for item in extra:
                    metadata += [item, *getattr(item, "metadata", ())]
            else:
                bases.append(option)
        if str not in bases:
            continue
        max_length = next((m.max_length for m in metadata if getattr(m, "max_length", None)), None)
        min_length = next((m.min_length for m in metadata if getattr(m, "min_length", None)), 0)
        found.append((name, max_length, min_length))
    return found


FIELD_CASES = [
    pytest.param(path, field, max_length, min_length, id=f"{path}.{field}")
    for path, (schema, _, _) in RESOURCES.items()
    for field, max_length, min_length in _text_fields(schema)
]


def _body(path: str, **values: Any) -> dict[str, Any]:
    _, base, unique = RESOURCES[path]
    return {**base, unique: f"hostile-{uuid.uuid4().hex[:12]}", **values}


def test_every_text_field_is_covered() -> None:
    covered = {case.values[0] + "." + case.values[1] for case in FIELD_CASES}
    for expected in (
        "accelerators.name",
        "accelerators.notes",
        "price-quotes.provider",
        "price-quotes.region",
        "market-prices.model_name",
        "market-prices.original_currency",
        "models.unit_name",
        "scenarios.description",
    ):
        assert expected in covered
    assert len(covered) >= 29


@pytest.mark.parametrize(("path", "field", "max_length", "min_length"), FIELD_CASES)
def test_hostile_strings_are_stored_as_text(
    client,
    path: str,
    field: str,
    max_length: int | None,  # type: ignore[no-untyped-def]
    min_length: int,
) -> None:
    for hostile in HOSTILE:
        value = hostile[:max_length] if max_length else hostile
        if len(value) < min_length:
            continue
        if field == RESOURCES[path][2]:
            value = value[: (max_length or 200) - 9] + uuid.uuid4().hex[:9]  # stays unique
        created = client.post(f"/api/v1/{path}", json=_body(path, **{field: value}))
        assert created.status_code == 201, (value, created.text)
        stored = client.get(f"/api/v1/{path}/{created.json()['id']}").json()
        assert stored[field] == value.strip()
    if max_length:
        exact = client.post(f"/api/v1/{path}", json=_body(path, **{field: "é" * max_length}))
        assert exact.status_code == 201, exact.text
        too_long = client.post(f"/api/v1/{path}", json=_body(path, **{field: "é" * (max_length + 1)}))
        assert too_long.status_code == 422
        assert field in str(too_long.json()["detail"])
    with_nul = client.post(f"/api/v1/{path}", json=_body(path, **{field: "before\x00after"}))
    assert with_nul.status_code == 422, with_nul.text
    assert "NUL" in str(with_nul.json()["detail"])


def test_nul_in_nested_json_and_in_filters_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    nested = client.post("/api/v1/scenarios", json=_body("scenarios", inputs={"k\x00": ["v"]}))
    assert nested.status_code == 422
    nested = client.post("/api/v1/scenarios", json=_body("scenarios", inputs={"k": ["v\x00"]}))
    assert nested.status_code == 422
    for path in ("accelerators?vendor=a%00b", "price-quotes?provider=%00", "market-prices?model_name=x%00"):
        response = client.get(f"/api/v1/{path}")
        assert response.status_code == 422, (path, response.text)


def test_sql_fragments_in_filters_and_sort_are_plain_values(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/accelerators", params={"vendor": "x' OR '1'='1"})
    assert response.status_code == 200 and response.json()["total"] == 0
    response = client.get("/api/v1/accelerators", params={"sort": "name; DROP TABLE accelerators"})
    assert response.status_code == 422
    assert client.get("/api/v1/accelerators").json()["total"] > 0


BAD_NUMBERS = [
    ("usd_per_hour", -1.0),
    ("usd_per_hour", 0),
    ("usd_per_hour", 1e308),
    ("usd_per_hour", "5"),
    ("usd_per_hour", True),
    ("usd_per_hour", 10**400),
    ("usd_per_hour", None),
    ("accelerator_count", 0),
    ("accelerator_count", 10**30),
    ("accelerator_count", 2.5),
    ("discount_percent", 100),
    ("discount_percent", -0.1),
    ("accelerator_id", 2**31),
    ("accelerator_id", 10**30),
    ("effective_from", 0),
    ("effective_from", "2025-13-01"),
    ("effective_from", "yesterday"),
]


@pytest.mark.parametrize(("field", "value"), BAD_NUMBERS, ids=[f"{f}={str(v)[:12]}" for f, v in BAD_NUMBERS])
def test_out_of_range_and_mistyped_numbers_are_refused(client, field: str, value: object) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/price-quotes", json=_body("price-quotes", **{field: value}))
    assert response.status_code == 422, response.text
    assert field in str(response.json()["detail"])


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_nan_and_infinity_in_raw_json_are_refused(client, literal: str) -> None:  # type: ignore[no-untyped-def]
    name = f"nan-{uuid.uuid4().hex[:8]}"
    raw = (
        f'{{"provider": "Test", "instance_type": "{name}", "accelerator_count": 8, '
        f'"pricing_model": "on_demand", "usd_per_hour": {literal}, "effective_from": "2025-01-01"}}'
    )
    response = client.post("/api/v1/price-quotes", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert "usd_per_hour" in response.text  # and the 422 body itself is valid JSON (NaN echoed as text)
    response.json()


@pytest.mark.parametrize("path", ["accelerators", "price-quotes", "market-prices", "models", "scenarios"])
@pytest.mark.parametrize("row_id", ["0", "-1", "2147483648", "99999999999999999999999", "1.5", "1e3", "abc"])
def test_odd_ids_are_4xx_never_5xx(client, path: str, row_id: str) -> None:  # type: ignore[no-untyped-def]
    for response in (
        client.get(f"/api/v1/{path}/{row_id}"),
        client.patch(f"/api/v1/{path}/{row_id}", json={"notes": "x", "version": 1}),
        client.delete(f"/api/v1/{path}/{row_id}"),
    ):
        assert response.status_code in (404, 405, 422), (row_id, response.status_code, response.text)


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=1001",
        "limit=99999999999999999999",
        "offset=-1",
        "offset=1e3",
        "format=xml",
        "as_of=0",
        "as_of=2025-02-30",
        "unknown=1",
    ],
)
def test_bad_list_parameters_are_refused(client, query: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/price-quotes?{query}")
    assert response.status_code == 422, (query, response.text)


def test_hostile_rows_are_shown_escaped_on_every_page(client) -> None:  # type: ignore[no-untyped-def]
    accelerator = client.post(
        "/api/v1/accelerators", json=_body("accelerators", name=SCRIPT, vendor=IMG, notes=SCRIPT, source=IMG)
    )
    assert accelerator.status_code == 201, accelerator.text
    quote = client.post(
        "/api/v1/price-quotes",
        json=_body(
            "price-quotes",
            provider=SCRIPT,
            instance_type=IMG,
            region=SCRIPT[:80],
            accelerator_id=accelerator.json()["id"],
            source=IMG,
            notes=SCRIPT,
            effective_from="2020-01-01",
        ),
    )
    assert quote.status_code == 201, quote.text
    market = client.post(
        "/api/v1/market-prices",
        json=_body(
            "market-prices",
            provider=SCRIPT[:80],
            model_name=IMG,
            change_note=SCRIPT,
            effective_date="2024-06-01",
        ),
    )
    assert market.status_code == 201, market.text
    model = client.post("/api/v1/models", json=_body("models", name=SCRIPT, notes=IMG))
    assert model.status_code == 201, model.text
    scenario = client.post("/api/v1/scenarios", json=_body("scenarios", name=IMG, description=SCRIPT))
    assert scenario.status_code == 201, scenario.text

    pages = [
        "/",
        "/hardware",
        f"/hardware?provider={SCRIPT}",
        "/models",
        "/compare",
        "/explorer",
        "/strategy",
        "/runs",
        "/methodology",
        "/audit",
        "/account",
    ]
    shown = 0
    for page in pages:
        response = client.get(page, headers={"Accept": "text/html"})
        if response.status_code == 404:
            continue
        assert response.status_code < 500, (page, response.status_code)
        html = response.text
        assert SCRIPT not in html, f"{page} shows a script tag unescaped"
        assert "<img src=x onerror" not in html, f"{page} shows an img tag unescaped"
        assert "</script><" not in html.replace("</script>\n<", "").replace("</script><script", ""), page
        shown += "&lt;script&gt;alert(" in html or "\\u003cscript\\u003e" in html or "\\u003c" in html
    assert shown >= 1, "no page showed the hostile rows at all (nothing was checked)"


def test_hostile_csv_cells_import_as_text(client) -> None:  # type: ignore[no-untyped-def]
    csv_text = (
        "provider,instance_type,region,accelerator_count,pricing_model,usd_per_hour,effective_from,notes\n"
        f'"{SCRIPT.replace(chr(34), chr(34) * 2)}",csv-{uuid.uuid4().hex[:8]},eu,8,on_demand,20,2025-01-01,'
        '"=HYPERLINK(""http://evil"")"\n'
    )
    response = client.post(
        "/api/v1/price-quotes/import?dry_run=false",
        files={"file": ("q.csv", io.BytesIO(csv_text.encode()), "text/csv")},
    )
    assert response.status_code == 200, response.text
    assert response.json()["added"] == 1
    found = client.get("/api/v1/price-quotes", params={"provider": SCRIPT}).json()["items"]
    assert found and found[0]["notes"] == '=HYPERLINK("http://evil")'


def test_csv_with_nul_or_binary_is_refused_cleanly(client) -> None:  # type: ignore[no-untyped-def]
    for content in (b"provider,instance_type\nA\x00B,c\n", b"\xff\xfe\x00\x01binary", b""):
        response = client.post(
            "/api/v1/price-quotes/import?dry_run=true",
            files={"file": ("q.csv", io.BytesIO(content), "text/csv")},
        )
        assert response.status_code in (200, 422), (content, response.status_code, response.text)
        if response.status_code == 200:  # a dry run may list the row as invalid, never store it
            assert response.json()["committed"] is False


def test_oversized_upload_is_refused_from_its_declared_length(client) -> None:  # type: ignore[no-untyped-def]
    from app.config import get_settings

    limit = get_settings().max_upload_bytes
    big = b"provider,instance_type\n" + b"x" * (limit + 200_000)
    response = client.post(
        "/api/v1/price-quotes/import?dry_run=true", files={"file": ("big.csv", io.BytesIO(big), "text/csv")}
    )
    assert response.status_code == 413, response.text


def test_oversized_streamed_upload_is_cut_off_before_it_is_read_whole(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """No Content-Length (chunked), against a real server: it answers 413 and stops reading once past the
    limit, long before the client has sent everything (TestClient would buffer the whole body first)."""
    import select
    import socket

    from app.config import get_settings
    from tests.conftest import migrate_empty
    from tests.faults.conftest import auth_headers
    from tests.faults.test_concurrent_writers import _free_port, _serve, _wait_ready

    url = f"sqlite:///{tmp_path / 'upload.sqlite3'}"
    migrate_empty(url).dispose()
    headers = auth_headers(url, role="editor")
    port = _free_port()
    process = _serve(url, port)
    limit = get_settings().max_upload_bytes
    total = 4 * limit
    chunk = b"x" * 64 * 1024
    try:
        _wait_ready(port, process)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            head = [
                "POST /api/v1/price-quotes/import?dry_run=true HTTP/1.1",
                f"Host: 127.0.0.1:{port}",
                "Content-Type: multipart/form-data; boundary=b",
                "Transfer-Encoding: chunked",
                *[f"{k}: {v}" for k, v in headers.items()],
                "",
                "",
            ]
            sock.sendall("\r\n".join(head).encode())
            preamble = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
            sock.sendall(b"%x\r\n%s\r\n" % (len(preamble), preamble))
            sent = 0
            while sent < total:
                if select.select([sock], [], [], 0)[0]:
                    break  # the server answered before the upload was complete
                try:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                except OSError:
                    break  # the server closed the connection: it stopped reading
                sent += len(chunk)
            sock.settimeout(10)
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert sent < total, "the server read the whole oversized body before answering"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize("path", ["/hardware/import", "/api/v1/accelerators", "/login"])
def test_every_route_refuses_an_oversized_body(client, path: str) -> None:  # type: ignore[no-untyped-def]
    """The limit is app-wide: forms (whose CSRF check parses the body) and JSON bodies too."""
    from app.config import get_settings

    big = b"x" * (get_settings().max_upload_bytes + 200_000)
    response = client.post(path, files={"file": ("big.csv", io.BytesIO(big), "text/csv")})
    assert response.status_code == 413, (path, response.status_code, response.text[:200])


def test_the_database_import_may_be_larger_than_an_upload(client) -> None:  # type: ignore[no-untyped-def]
    from app.config import get_settings

    padding = "x" * (get_settings().max_upload_bytes + 200_000)
    response = client.post("/api/v1/import", json={"schema_version": 1, "padding": padding})
    assert response.status_code in (409, 422), response.text[:200]  # read and refused on its merits
