"""Plain-dict round trip for scenarios, strategies and presets (what JSON columns and preset files hold).

A number where a `Range` is expected means a fixed value; a range is written
``{"dist": "triangular", "low": 3, "mode": 10, "high": 40}`` (``mode`` is optional for uniform/lognormal).
Unknown keys are errors, so a typo in a preset never passes silently.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from dataclasses import dataclass
from typing import Any

from app.engine.market.errors import ScenarioError
from app.engine.market.scenario import RANGE_KINDS, Range, Scenario, Strategy


def range_to_value(r: Range) -> float | dict[str, Any]:
    if r.kind == "fixed":
        return r.low
    out: dict[str, Any] = {"dist": r.kind, "low": r.low, "high": r.high}
    if r.kind == "triangular":
        out["mode"] = r.mode
    return out


def range_from_value(path: str, value: Any) -> Range:
    if isinstance(value, bool):
        raise ScenarioError(path, f"must be a number or a range, got {value!r}")
    if isinstance(value, int | float):
        return Range.fixed(float(value))
    if not isinstance(value, dict):
        raise ScenarioError(path, f"must be a number or a range, got {value!r}")
    unknown = set(value) - {"dist", "low", "mode", "high"}
    if unknown:
        raise ScenarioError(f"{path}.{sorted(unknown)[0]}", "unknown field")
    kind = value.get("dist", "triangular")
    if kind not in RANGE_KINDS:
        raise ScenarioError(
            f"{path}.dist", f"unknown distribution {kind!r}; use one of {', '.join(RANGE_KINDS)}"
        )
    try:
        low = float(value["low"])
        high = float(value["high"]) if "high" in value else low
    except KeyError as exc:
        raise ScenarioError(f"{path}.{exc.args[0]}", "is required") from None
    except (TypeError, ValueError):
        raise ScenarioError(path, "low and high must be numbers") from None
    if kind == "fixed":
        return Range.fixed(low)
    if kind == "lognormal":
        if low <= 0 or high <= 0:
            raise ScenarioError(
                f"{path}.low", "a lognormal range needs low > 0 (use triangular for signed values)"
            )
        return Range.lognormal(low, high)
    if kind == "uniform":
        return Range.uniform(low, high)
    mode = value.get("mode", (low + high) / 2)
    if isinstance(mode, bool) or not isinstance(mode, int | float):
        raise ScenarioError(f"{path}.mode", "must be a number")
    return Range.triangular(low, float(mode), high)


def _to_plain(obj: Any) -> Any:
    if isinstance(obj, Range):
        return range_to_value(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, frozenset):
        return sorted(obj)
    if isinstance(obj, tuple | list):
        return [_to_plain(x) for x in obj]
    return obj


def _convert(path: str, hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(path, inner, value)
    if hint is Range:
        return range_from_value(path, value)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ScenarioError(path, f"must be a list, got {value!r}")
        return tuple(_convert(f"{path}[{i}]", args[0], v) for i, v in enumerate(value))
    if origin is frozenset:
        if not isinstance(value, list | tuple):
            raise ScenarioError(path, f"must be a list, got {value!r}")
        return frozenset(str(v) for v in value)
    if origin is typing.Literal or hint is str:
        if not isinstance(value, str):
            raise ScenarioError(path, f"must be a string, got {value!r}")
        return value
    if hint is bool:
        return bool(value)
    if hint is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScenarioError(path, f"must be a whole number, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ScenarioError(path, f"must be a finite number, got {value!r}")
        return float(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass_from_dict(path, hint, value)
    raise TypeError(f"no converter for {hint!r}")  # a programming error, not bad input


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    """Resolved once per class: get_type_hints re-evaluates every annotation on each call (slow)."""
    return typing.get_type_hints(cls)


def _dataclass_from_dict(path: str, cls: type, value: Any) -> Any:
    prefix = f"{path}." if path else ""
    if not isinstance(value, dict):
        raise ScenarioError(path or "scenario", f"must be an object, got {value!r}")
    hints = _type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(value) - set(fields)
    if unknown:
        raise ScenarioError(f"{prefix}{sorted(unknown)[0]}", "unknown field")
    kwargs = {}
    for name, f in fields.items():
        if name in value:
            kwargs[name] = _convert(f"{prefix}{name}", hints[name], value[name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ScenarioError(f"{prefix}{name}", "is required")
    return cls(**kwargs)


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    result: dict[str, Any] = _to_plain(scenario)
    return result


def scenario_from_dict(data: dict[str, Any]) -> Scenario:
    scenario: Scenario = _dataclass_from_dict("", Scenario, data)
    return scenario


def strategy_to_dict(strategy: Strategy) -> dict[str, Any]:
    result: dict[str, Any] = _to_plain(strategy)
    return result


def strategies_from_list(data: Any) -> tuple[Strategy, ...]:
    strategies: tuple[Strategy, ...] = _convert("strategies", tuple[Strategy, ...], data)
    return strategies


@dataclass(frozen=True)
class Preset:
    """A shipped, editable scenario with its sources (and, optionally, strategies given as inputs)."""

    slug: str
    name: str
    description: str
    sources: tuple[str, ...]
    assumptions: tuple[str, ...]
    scenario: Scenario
    strategies: tuple[Strategy, ...] = ()
    source: str = ""  # one-line citation (the Scenario row's `source` column)


# The fields of a preset document (app/data/presets/*.json); a stored run's inputs may carry more (replay_of).
PRESET_KEYS = frozenset(
    {"slug", "name", "description", "source", "sources", "assumptions", "scenario", "strategies"}
)


def preset_from_dict(data: dict[str, Any]) -> Preset:
    """Parse a preset file's content (app/data/presets/*.json) into a Preset."""
    if not isinstance(data, dict):
        raise ScenarioError("preset", "must be an object")
    unknown = set(data) - PRESET_KEYS
    if unknown:
        raise ScenarioError(sorted(unknown)[0], "unknown field")
    for key in ("slug", "name", "description", "sources", "scenario"):
        if key not in data:
            raise ScenarioError(key, "is required")
    sources = data["sources"]
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) for s in sources):
        raise ScenarioError("sources", "a preset must cite at least one source (a list of strings)")
    assumptions = data.get("assumptions", [])
    if not isinstance(assumptions, list) or not all(isinstance(s, str) for s in assumptions):
        raise ScenarioError("assumptions", "must be a list of strings")
    return Preset(
        slug=_convert("slug", str, data["slug"]),
        name=_convert("name", str, data["name"]),
        description=_convert("description", str, data["description"]),
        sources=tuple(sources),
        assumptions=tuple(assumptions),
        scenario=_dataclass_from_dict("scenario", Scenario, data["scenario"]),
        strategies=strategies_from_list(data.get("strategies", [])),
        source=_convert("source", str, data.get("source", "")),
    )


def preset_to_dict(preset: Preset) -> dict[str, Any]:
    return {
        "slug": preset.slug,
        "name": preset.name,
        "description": preset.description,
        "source": preset.source,
        "sources": list(preset.sources),
        "assumptions": list(preset.assumptions),
        "scenario": scenario_to_dict(preset.scenario),
        "strategies": [strategy_to_dict(s) for s in preset.strategies],
    }
