"""Import LiteLLM's `model_prices_and_context_window.json` (or a part of it) as dated market prices.

Per-token prices become per-1M prices; the provider comes from `litellm_provider` (mapped to the names the
shipped data uses, e.g. `openai` → OpenAI); `sample_spec` and entries whose `mode` is not `chat` are skipped;
a missing, non-numeric or negative price makes the entry invalid with the reason. A model already on the sheet
with the same prices is unchanged; other prices add a dated row from `effective_from` (the newest dated row is
the current price, so the old one is closed by it); a new model is added. A commit is all or nothing.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import MarketPrice
from app.services import audit, crud
from app.services.errors import ValidationFailed

MAX_ENTRIES = 50_000
PER_MILLION = 1_000_000.0
PROVIDER_NAMES = {
    "openai": "OpenAI",
    "text-completion-openai": "OpenAI",
    "azure": "Azure OpenAI",
    "anthropic": "Anthropic",
    "deepseek": "DeepSeek",
    "gemini": "Google",
    "vertex_ai-language-models": "Google",
    "mistral": "Mistral",
    "xai": "xAI",
    "moonshot": "Moonshot",
    "dashscope": "Alibaba Cloud",
    "volcengine": "ByteDance (Volcano Engine)",
    "zhipuai": "Zhipu AI",
}
SOURCE = "LiteLLM model_prices_and_context_window.json (MIT licence, Berri AI)"


class Invalid(BaseModel):
    key: str
    reason: str


class Change(BaseModel):
    key: str
    status: Literal["added", "changed", "unchanged"]
    before_output_usd_per_million: float | None = None
    after_output_usd_per_million: float


class LiteLLMImportReport(BaseModel):
    dry_run: bool
    committed: bool
    added: int
    changed: int
    unchanged: int
    skipped: int
    invalid: list[Invalid]
    rows: list[Change]


class LiteLLMImportRefused(ValidationFailed):
    """A commit with invalid entries writes nothing; the report says which and why."""

    def __init__(self, report: LiteLLMImportReport) -> None:
        super().__init__(f"{len(report.invalid)} invalid entr(y/ies): nothing was imported", field="file")
        self.report = report


def import_prices(
    session: Session, document: Any, effective_from: date, dry_run: bool
) -> LiteLLMImportReport:
    if not isinstance(document, dict):
        raise ValidationFailed("expected a JSON object of model name → price entry", field="file")
    if len(document) > MAX_ENTRIES:
        raise ValidationFailed(f"more than {MAX_ENTRIES} entries; split the file", field="file")
    invalid: list[Invalid] = []
    planned: dict[tuple[str, str], dict[str, Any]] = {}
    skipped = 0
    for key, entry in document.items():
        if key == "sample_spec":
            skipped += 1
            continue
        if not isinstance(entry, dict):
            invalid.append(Invalid(key=str(key)[:200], reason="entry is not a JSON object"))
            continue
        if entry.get("mode", "chat") != "chat":
            skipped += 1
            continue
        try:
            values = _values(str(key), entry, effective_from)
        except ValueError as exc:
            invalid.append(Invalid(key=str(key)[:200], reason=str(exc)))
            continue
        identity = (values["provider"], values["model_name"])
        earlier = planned.get(identity)
        if earlier is not None and not _same(earlier, values):
            invalid.append(
                Invalid(
                    key=str(key)[:200],
                    reason=f"prices differ from another entry for the same model ({identity[1]})",
                )
            )
            continue
        planned[identity] = values

    current = _current_prices(session, [identity for identity in planned])
    rows: list[Change] = []
    writes: list[dict[str, Any]] = []
    for (provider, model_name), values in planned.items():
        label = f"{provider} {model_name}"
        before = current.get((provider, model_name))
        if before is None:
            rows.append(
                Change(
                    key=label, status="added", after_output_usd_per_million=values["output_usd_per_million"]
                )
            )
            writes.append({**values, "event_type": "snapshot"})
        elif _same_prices(before, values):
            rows.append(
                Change(
                    key=label,
                    status="unchanged",
                    before_output_usd_per_million=before.output_usd_per_million,
                    after_output_usd_per_million=values["output_usd_per_million"],
                )
            )
        elif effective_from <= before.effective_date:
            invalid.append(
                Invalid(
                    key=label,
                    reason="effective_from: a new price must start after the current one "
                    f"({before.effective_date})",
                )
            )
        else:
            rows.append(
                Change(
                    key=label,
                    status="changed",
                    before_output_usd_per_million=before.output_usd_per_million,
                    after_output_usd_per_million=values["output_usd_per_million"],
                )
            )
            writes.append({**values, "tier": before.tier, "event_type": _event(before, values)})
    counts = {status: sum(r.status == status for r in rows) for status in ("added", "changed", "unchanged")}
    committed = not dry_run and not invalid
    report = LiteLLMImportReport(
        dry_run=dry_run, committed=committed, skipped=skipped, invalid=invalid, rows=rows, **counts
    )
    if not dry_run and invalid:
        raise LiteLLMImportRefused(report)
    if committed:
        for values in writes:
            crud.create_row(session, MarketPrice, values, record=False)
        audit.record(
            session,
            "import",
            "market_prices",
            None,
            f"LiteLLM import for {effective_from.isoformat()}: {counts['added']} added, {counts['changed']} "
            f"changed, {counts['unchanged']} unchanged, {skipped} skipped",
        )
    return report


def _values(key: str, entry: dict[str, Any], effective_from: date) -> dict[str, Any]:
    provider_code = entry.get("litellm_provider")
    if not isinstance(provider_code, str) or not provider_code.strip():
        raise ValueError("litellm_provider: missing")
    provider = PROVIDER_NAMES.get(provider_code, provider_code)
    model_name = key.split("/", 1)[1] if key.startswith(f"{provider_code}/") else key
    if not model_name or len(model_name) > 160:
        raise ValueError("model name: empty or longer than 160 characters")
    return {
        "provider": provider[:80],
        "model_name": model_name,
        "input_usd_per_million": _per_million(entry, "input_cost_per_token", required=True),
        "output_usd_per_million": _per_million(entry, "output_cost_per_token", required=True),
        "cached_input_usd_per_million": _per_million(entry, "cache_read_input_token_cost", required=False),
        "effective_date": effective_from,
        "date_basis": "import",
        "original_currency": "USD",
        "source": SOURCE,
        "verification": "litellm-data",
        "notes": f"LiteLLM key {key}",
    }


def _per_million(entry: dict[str, Any], field: str, required: bool) -> float | None:
    value = entry.get(field)
    if value is None:
        if required:
            raise ValueError(f"{field}: missing")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{field}: {value!r} is not a number")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{field}: {value!r} is not a price (negative or not finite)")
    per_million = float(value) * PER_MILLION
    if per_million > 10_000:
        raise ValueError(f"{field}: {per_million:,.6g} USD per 1M tokens is above the 10,000 cap")
    return per_million


def _current_prices(
    session: Session, identities: list[tuple[str, str]]
) -> dict[tuple[str, str], MarketPrice]:
    providers = sorted({provider for provider, _ in identities})
    if not providers:
        return {}
    newest: dict[tuple[str, str], MarketPrice] = {}
    query = (
        select(MarketPrice).where(MarketPrice.provider.in_(providers)).order_by(MarketPrice.effective_date)
    )
    wanted = set(identities)
    for row in session.scalars(query):
        identity = (row.provider, row.model_name)
        if identity in wanted:
            newest[identity] = row  # ordered by date: the last one is the current price
    return newest


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    fields = ("input_usd_per_million", "output_usd_per_million", "cached_input_usd_per_million")
    return all(_close(a[f], b[f]) for f in fields)


def _same_prices(row: MarketPrice, values: dict[str, Any]) -> bool:
    return _close(row.input_usd_per_million, values["input_usd_per_million"]) and _close(
        row.output_usd_per_million, values["output_usd_per_million"]
    )


def _event(before: MarketPrice, values: dict[str, Any]) -> str:
    up = (values["input_usd_per_million"] > before.input_usd_per_million) or (
        values["output_usd_per_million"] > before.output_usd_per_million
    )
    down = (values["input_usd_per_million"] < before.input_usd_per_million) or (
        values["output_usd_per_million"] < before.output_usd_per_million
    )
    return "change" if up and down else "increase" if up else "cut"


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0)
