"""Accelerators and numeric precisions.

Peaks are *dense* tensor-core TFLOP/s (tera = 1e12, never 2**40). Vendor headline figures quoted with 2:4
structured sparsity are twice the dense ones and must not be used here. Source of the shipped specs:
app/data/reference/accelerators.csv (NVIDIA/AMD/Google datasheets, see its `source` column).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, get_args

Precision = Literal["fp32", "tf32", "bf16", "fp16", "fp8", "int8", "int4", "fp4"]
PRECISIONS: tuple[str, ...] = get_args(Precision)

# Bytes one stored value occupies. TF32 is a compute mode: values are stored as 32-bit floats.
BYTES_PER_VALUE: Mapping[str, float] = MappingProxyType(
    {"fp32": 4.0, "tf32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5, "fp4": 0.5}
)

HALF_PRECISIONS: frozenset[str] = frozenset({"bf16", "fp16"})


class UnsupportedPrecision(ValueError):
    """The accelerator has no tensor throughput for this precision (e.g. INT4 on Hopper, BF16 on V100)."""

    def __init__(self, accelerator_name: str, precision: str, supported: tuple[str, ...]) -> None:
        self.accelerator_name = accelerator_name
        self.precision = precision
        self.supported = supported
        super().__init__(
            f"{accelerator_name} has no {precision} throughput; supported: {', '.join(supported) or 'none'}"
        )


def bytes_per_value(precision: str) -> float:
    """Storage bytes of one value in `precision` (fp32 4, tf32 4, bf16/fp16 2, fp8/int8 1, int4/fp4 0.5)."""
    try:
        return BYTES_PER_VALUE[precision]
    except KeyError:
        raise ValueError(
            f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}"
        ) from None


@dataclass(frozen=True)
class AcceleratorSpec:
    """One accelerator (GPU/TPU chip).

    peak_tflops maps a precision to its dense peak in TFLOP/s (TOP/s for integers); a precision that is
    missing is unsupported. board_power_w is the board/TDP power in watts; interconnect_bandwidth_gb_s the
    vendor's (bidirectional) GPU-to-GPU figure in GB/s.
    """

    name: str
    memory_gb: float
    memory_bandwidth_tb_s: float
    peak_tflops: Mapping[str, float] = field(default_factory=dict)
    board_power_w: float | None = None
    interconnect_bandwidth_gb_s: float | None = None

    def __post_init__(self) -> None:
        unknown = set(self.peak_tflops) - set(PRECISIONS)
        if unknown:
            raise ValueError(f"unknown precision(s) {sorted(unknown)} for {self.name}")
        if self.memory_gb <= 0 or self.memory_bandwidth_tb_s <= 0:
            raise ValueError(f"{self.name}: memory_gb and memory_bandwidth_tb_s must be positive")
        # Read-only copy so the frozen dataclass really is immutable.
        object.__setattr__(self, "peak_tflops", MappingProxyType(dict(self.peak_tflops)))

    def __hash__(self) -> int:
        return hash(
            (self.name, self.memory_gb, self.memory_bandwidth_tb_s, tuple(sorted(self.peak_tflops.items())))
        )

    @property
    def supported_precisions(self) -> tuple[str, ...]:
        return tuple(p for p in PRECISIONS if self.peak_tflops.get(p))

    def supports(self, precision: str) -> bool:
        return bool(self.peak_tflops.get(precision))

    def peak_tflops_for(self, precision: str) -> float:
        """Dense peak TFLOP/s at `precision`; raises UnsupportedPrecision when there is none."""
        bytes_per_value(precision)  # validates the name
        value = self.peak_tflops.get(precision)
        if not value:
            raise UnsupportedPrecision(self.name, precision, self.supported_precisions)
        return float(value)

    @property
    def memory_bytes(self) -> float:
        return self.memory_gb * 1e9

    @property
    def memory_bandwidth_bytes_s(self) -> float:
        return self.memory_bandwidth_tb_s * 1e12


def _number(text: str | None) -> float | None:
    """First decimal number in a csv cell; the upper end of a range like '450-1000 (module)'."""
    if text is None:
        return None
    numbers = re.findall(r"\d+(?:\.\d+)?", str(text).replace(",", ""))
    if not numbers:
        return None
    value = max(float(n) for n in numbers)
    return value if math.isfinite(value) and value > 0 else None


def accelerator_from_row(row: Mapping[str, str | float | None]) -> AcceleratorSpec:
    """Build a spec from one row of accelerators.csv (a dict; reading the file is the caller's job).

    The csv's bf16_fp16 column holds FP16 for parts without BF16 (V100, T4: their notes say "no BF16"), so
    those get fp16 only. TF32 is a compute mode: its column is used when present.
    """
    notes = str(row.get("notes") or "")
    no_bf16 = re.search(r"no\s+BF16", notes, re.IGNORECASE) is not None
    peaks: dict[str, float] = {}
    columns = {
        "fp32": "fp32_tflops",
        "tf32": "tf32_tflops_dense",
        "fp8": "fp8_tflops_dense",
        "int8": "int8_tops_dense",
        "fp4": "fp4_tflops_dense",
    }
    for precision, column in columns.items():
        value = _number(row.get(column))  # type: ignore[arg-type]
        if value:
            peaks[precision] = value
    half = _number(row.get("bf16_fp16_tflops_dense"))  # type: ignore[arg-type]
    if half:
        peaks["fp16"] = half
        if not no_bf16:
            peaks["bf16"] = half
    return AcceleratorSpec(
        name=str(row["name"]),
        memory_gb=float(row["memory_gb"]),  # type: ignore[arg-type]
        memory_bandwidth_tb_s=float(row["memory_bandwidth_tb_s"]),  # type: ignore[arg-type]
        peak_tflops=peaks,
        board_power_w=_number(row.get("tdp_watts")),  # type: ignore[arg-type]
        interconnect_bandwidth_gb_s=_number(row.get("interconnect_bandwidth_gb_s")),  # type: ignore[arg-type]
    )


# Two parts the engine's own examples need (the article comparison, lever defaults). Values are the rows of
# accelerators.csv (NVIDIA A100 datasheet r4 / H100 datasheet, dense); a test checks they match the csv.
A100_SXM4_80GB = AcceleratorSpec(
    name="A100-SXM4-80GB",
    memory_gb=80.0,
    memory_bandwidth_tb_s=2.039,
    peak_tflops={"fp32": 19.5, "tf32": 156.0, "bf16": 312.0, "fp16": 312.0, "int8": 624.0},
    board_power_w=400.0,
    interconnect_bandwidth_gb_s=600.0,
)
H100_SXM = AcceleratorSpec(
    name="H100-SXM",
    memory_gb=80.0,
    memory_bandwidth_tb_s=3.35,
    peak_tflops={"fp32": 66.9, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4, "fp8": 1978.9, "int8": 1978.9},
    board_power_w=700.0,
    interconnect_bandwidth_gb_s=900.0,
)
