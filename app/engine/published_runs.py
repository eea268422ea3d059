"""Published pre-training runs: model, accelerator, GPUs, layout, MFU and what was published, with sources.

The default MFU of an estimate is the median of this table for the accelerator's generation and the model's
size class (falling back to the generation, then to the whole table, when fewer than two runs match); the
estimate's range is the 10th-90th percentile of the whole table's MFUs. MFU here is model FLOPs (6·N·D, N the
active parameters) over the 16-bit dense peak of the GPUs for the whole run — end to end, as published.

How each MFU is obtained (`mfu_basis`): "reported" (the paper states MFU), "from achieved TFLOP/s" (the
paper's per-GPU throughput converted to model FLOPs), or "from GPU-hours" (6·N·D over the published GPU-hours
× peak). Tests (tests/engine/test_published_runs.py) reproduce every run at its MFU and layout, and check
that most fall inside the default's range. The Methodology page renders this same table.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from app.engine.architecture import PRESETS, ModelSpec
from app.engine.hardware import A100_SXM4_80GB, H100_SXM, AcceleratorSpec

A100_SXM4_40GB = replace(A100_SXM4_80GB, name="A100-SXM4-40GB", memory_gb=40.0, memory_bandwidth_tb_s=1.555)
# H800: H100 compute with NVLink cut to 400 GB/s (DeepSeek-V3 report, Section 3.1).
H800 = replace(H100_SXM, name="H800", interconnect_bandwidth_gb_s=400.0)
# TPU v4 / v3 chips (Google Cloud TPU documentation): 275 / 123 bf16 TFLOP/s, 32 GB HBM.
TPU_V4 = AcceleratorSpec(
    name="TPU-v4", memory_gb=32.0, memory_bandwidth_tb_s=1.2, peak_tflops={"bf16": 275.0}, board_power_w=192
)
TPU_V3 = AcceleratorSpec(
    name="TPU-v3", memory_gb=32.0, memory_bandwidth_tb_s=0.9, peak_tflops={"bf16": 123.0}
)

GENERATIONS: tuple[str, ...] = ("volta", "ampere", "ada", "hopper", "blackwell", "cdna3", "tpu", "other")
SIZE_CLASSES: tuple[str, ...] = ("under 20B", "20B-100B", "over 100B")


def accelerator_generation(name: str) -> str:
    """The architecture generation of an accelerator, from its name."""
    n = name.upper()
    if "TPU" in n:
        return "tpu"
    if any(k in n for k in ("B200", "B100", "GB200", "B300")):
        return "blackwell"
    if any(k in n for k in ("H100", "H200", "H800", "H20", "GH200")):
        return "hopper"
    if any(k in n for k in ("A100", "A800", "A10", "A30", "A40")):
        return "ampere"
    if any(k in n for k in ("L4", "L40")):
        return "ada"
    if "V100" in n:
        return "volta"
    if "MI300" in n:
        return "cdna3"
    return "other"


def size_class(active_parameter_count: float) -> str:
    if active_parameter_count < 20e9:
        return SIZE_CLASSES[0]
    if active_parameter_count <= 100e9:
        return SIZE_CLASSES[1]
    return SIZE_CLASSES[2]


@dataclass(frozen=True)
class PublishedRun:
    """One run. published_gpu_hours: what the source states (or GPUs × days × 24); None when only MFU or
    throughput was published. layout: (tensor, pipeline, data) degrees when published."""

    name: str
    model: ModelSpec
    training_tokens: float
    accelerator: AcceleratorSpec
    gpu_count: int
    mfu: float
    mfu_basis: str
    precision: str
    source: str
    url: str
    published_gpu_hours: float | None = None
    layout: tuple[int, int, int] | None = None
    zero_stage: int = 1
    global_batch_tokens: float | None = None
    inter_node_bandwidth_gb_s: float | None = None
    intra_node_bandwidth_gb_s: float | None = None
    gpus_per_node_count: int = 8
    activation_recomputation: str = "selective"
    notes: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def generation(self) -> str:
        return accelerator_generation(self.accelerator.name)

    @property
    def size_class(self) -> str:
        return size_class(self.model.active_parameters)

    @property
    def model_flops(self) -> float:
        return 6.0 * self.model.active_parameters * self.training_tokens

    @property
    def gpu_hours_at_mfu(self) -> float:
        """6·N·D / (bf16 peak × MFU): the GPU-hours this MFU means (the published ones when derived)."""
        return self.model_flops / (self.accelerator.peak_tflops_for("bf16") * 1e12 * self.mfu * 3600.0)

    @property
    def reference_gpu_hours(self) -> float:
        return self.published_gpu_hours or self.gpu_hours_at_mfu


def _gpt(name: str, n: float, layers: int, h: int, heads: int, vocab: int, seq: int = 2048) -> ModelSpec:
    return ModelSpec(
        name=name,
        parameter_count=n,
        layer_count=layers,
        hidden_size=h,
        attention_head_count=heads,
        kv_head_count=heads,
        vocabulary_size=vocab,
        sequence_length=seq,
        mlp_activation="gelu",
    )


def _spec(preset: str) -> ModelSpec:
    return PRESETS[preset].to_model_spec()


PUBLISHED_RUNS: tuple[PublishedRun, ...] = (
    PublishedRun(
        name="GPT-3 175B (Megatron-LM)",
        model=_spec("GPT-3 175B"),
        training_tokens=300e9,
        accelerator=A100_SXM4_80GB,
        gpu_count=1024,
        mfu=0.335,
        mfu_basis="from GPU-hours (34 days on 1,024 A100 at 140 TFLOP/s per GPU, hardware FLOPs)",
        precision="fp16",
        published_gpu_hours=1024 * 34 * 24.0,
        layout=(8, 16, 8),
        global_batch_tokens=1536 * 2048.0,
        activation_recomputation="full",
        source="Narayanan et al. 2021, 'Efficient Large-Scale Language Model Training on GPU Clusters "
        "Using Megatron-LM', Section 5.1",
        url="https://arxiv.org/abs/2104.04473",
        notes="The authors' projection from measured throughput, not a finished run.",
    ),
    PublishedRun(
        name="MT-NLG 530B",
        model=_gpt("MT-NLG 530B", 530e9, 105, 20480, 128, 51200),
        training_tokens=270e9,
        accelerator=A100_SXM4_80GB,
        gpu_count=2240,
        mfu=0.299,
        mfu_basis="reported (PaLM paper, Table 3)",
        precision="bf16",
        layout=(8, 35, 8),
        global_batch_tokens=1920 * 2048.0,
        activation_recomputation="full",
        source="Smith et al. 2022, 'Using DeepSpeed and Megatron to Train Megatron-Turing NLG 530B'; MFU "
        "from Chowdhery et al. 2022 (PaLM), Table 3",
        url="https://arxiv.org/abs/2201.11990",
    ),
    PublishedRun(
        name="BLOOM 176B",
        model=_gpt("BLOOM 176B", 176.2e9, 70, 14336, 112, 250680),
        training_tokens=366e9,
        accelerator=A100_SXM4_80GB,
        gpu_count=384,
        mfu=0.318,
        mfu_basis="from GPU-hours (1,082,990 compute hours)",
        precision="bf16",
        published_gpu_hours=1_082_990.0,
        layout=(4, 12, 8),
        global_batch_tokens=2048 * 2048.0,
        inter_node_bandwidth_gb_s=6.25,
        activation_recomputation="full",
        source="BigScience 2022, 'BLOOM: A 176B-Parameter Open-Access Multilingual Language Model', "
        "Section 3.4 (48 nodes of 8 A100-80GB, 4 × 100 Gb/s Omni-Path per node)",
        url="https://arxiv.org/abs/2211.05100",
    ),
    PublishedRun(
        name="OPT-175B",
        model=_gpt("OPT-175B", 175e9, 96, 12288, 96, 50272),
        training_tokens=180e9,
        accelerator=A100_SXM4_80GB,
        gpu_count=992,
        mfu=0.471,
        mfu_basis="from achieved TFLOP/s (147 TFLOP/s per GPU over 312)",
        precision="fp16",
        layout=(8, 1, 124),
        zero_stage=3,
        global_batch_tokens=2e6,
        source="Zhang et al. 2022, 'OPT: Open Pre-trained Transformer Language Models', Section 2.4",
        url="https://arxiv.org/abs/2205.01068",
        notes="Fully sharded data parallel with Megatron tensor parallelism; no pipeline parallelism.",
    ),
    PublishedRun(
        name="Llama 2 7B",
        model=_spec("Llama 2 7B"),
        training_tokens=2e12,
        accelerator=A100_SXM4_80GB,
        gpu_count=512,
        mfu=0.391,
        mfu_basis="from GPU-hours (184,320 A100-80GB hours)",
        precision="bf16",
        published_gpu_hours=184_320.0,
        layout=(1, 1, 512),
        global_batch_tokens=4 * 2**20,
        source="Touvron et al. 2023, 'Llama 2', Table 2 (GPU count and layout are our assumption)",
        url="https://arxiv.org/abs/2307.09288",
        tags=("layout assumed",),
    ),
    PublishedRun(
        name="Llama 2 70B",
        model=_spec("Llama 2 70B"),
        training_tokens=2e12,
        accelerator=A100_SXM4_80GB,
        gpu_count=2048,
        mfu=0.428,
        mfu_basis="from GPU-hours (1,720,320 A100-80GB hours)",
        precision="bf16",
        published_gpu_hours=1_720_320.0,
        layout=(8, 1, 256),
        zero_stage=3,
        global_batch_tokens=4 * 2**20,
        source="Touvron et al. 2023, 'Llama 2', Table 2 (layout assumed)",
        url="https://arxiv.org/abs/2307.09288",
        tags=("layout assumed",),
    ),
    PublishedRun(
        name="Llama 3.1 405B (8K GPUs)",
        model=_spec("Llama 3.1 405B"),
        training_tokens=15.6e12,
        accelerator=H100_SXM,
        gpu_count=8192,
        mfu=0.43,
        mfu_basis="reported (BF16 MFU, Table 4)",
        precision="bf16",
        layout=(8, 16, 64),
        global_batch_tokens=16 * 2**20,
        source="Llama Team 2024, 'The Llama 3 Herd of Models', Table 4 (430 TFLOP/s per GPU)",
        url="https://arxiv.org/abs/2407.21783",
    ),
    PublishedRun(
        name="Llama 3.1 405B (16K GPUs)",
        model=_spec("Llama 3.1 405B"),
        training_tokens=15.6e12,
        accelerator=H100_SXM,
        gpu_count=16384,
        mfu=0.41,
        mfu_basis="reported (BF16 MFU, Table 4)",
        precision="bf16",
        layout=(8, 16, 128),
        global_batch_tokens=16 * 2**20,
        source="Llama Team 2024, 'The Llama 3 Herd of Models', Table 4 (400 TFLOP/s per GPU)",
        url="https://arxiv.org/abs/2407.21783",
    ),
    PublishedRun(
        name="Llama 3.1 70B",
        model=_spec("Llama 3.1 70B"),
        training_tokens=15.6e12,
        accelerator=H100_SXM,
        gpu_count=8192,
        mfu=0.265,
        mfu_basis="from GPU-hours (7.0M H100-80GB hours, model card: all of pre-training)",
        precision="bf16",
        published_gpu_hours=7.0e6,
        layout=(8, 4, 256),
        global_batch_tokens=16 * 2**20,
        source="Llama 3.1 model card (huggingface.co/meta-llama/Llama-3.1-70B), training GPU-hours",
        url="https://huggingface.co/meta-llama/Llama-3.1-70B",
        tags=("layout assumed",),
    ),
    PublishedRun(
        name="DeepSeek-V3 (MoE, FP8)",
        model=_spec("DeepSeek-V3"),
        training_tokens=14.8e12,
        accelerator=H800,
        gpu_count=2048,
        mfu=0.346,
        mfu_basis="from GPU-hours (2.664M H800 hours of pre-training; 0.17 of the FP8 peak)",
        precision="fp8",
        published_gpu_hours=2.664e6,
        layout=(1, 16, 128),
        global_batch_tokens=15360 * 4096.0,
        source="DeepSeek-AI 2024, 'DeepSeek-V3 Technical Report', Table 1 and Section 3",
        url="https://arxiv.org/abs/2412.19437",
        notes="Mixture of experts (37B active of 671B); expert-parallel all-to-all not modelled.",
    ),
    PublishedRun(
        name="MPT-7B",
        model=_gpt("MPT-7B", 6.7e9, 32, 4096, 32, 50432),
        training_tokens=1e12,
        accelerator=A100_SXM4_40GB,
        gpu_count=440,
        mfu=0.357,
        mfu_basis="from GPU-hours (440 A100-40GB for 9.5 days)",
        precision="bf16",
        published_gpu_hours=440 * 9.5 * 24.0,
        layout=(1, 1, 440),
        zero_stage=3,
        global_batch_tokens=1760 * 2048.0,
        source="MosaicML 2023, 'Introducing MPT-7B' (databricks.com/blog/mpt-7b)",
        url="https://www.databricks.com/blog/mpt-7b",
    ),
    PublishedRun(
        name="Falcon-180B",
        model=ModelSpec(
            name="Falcon-180B",
            parameter_count=180e9,
            layer_count=80,
            hidden_size=14848,
            attention_head_count=232,
            kv_head_count=8,
            vocabulary_size=65024,
            sequence_length=2048,
            mlp_activation="gelu",
        ),
        training_tokens=3.5e12,
        accelerator=A100_SXM4_40GB,
        gpu_count=4096,
        mfu=0.481,
        mfu_basis="from GPU-hours (~7M A100 hours)",
        precision="bf16",
        published_gpu_hours=7.0e6,
        layout=(8, 8, 64),
        global_batch_tokens=2048 * 2048.0,
        inter_node_bandwidth_gb_s=6.25,
        source="Almazrouei et al. 2023, 'The Falcon Series of Open Language Models'; TII/Hugging Face "
        "release "
        "(4,096 A100 on AWS, ~7M GPU-hours)",
        url="https://arxiv.org/abs/2311.16867",
        tags=("layout assumed",),
    ),
    PublishedRun(
        name="PaLM 540B",
        model=ModelSpec(
            name="PaLM 540B",
            parameter_count=540e9,
            layer_count=118,
            hidden_size=18432,
            attention_head_count=48,
            kv_head_count=1,
            vocabulary_size=256000,
            sequence_length=2048,
            intermediate_size=73728,
        ),
        training_tokens=780e9,
        accelerator=TPU_V4,
        gpu_count=6144,
        mfu=0.462,
        mfu_basis="reported (Table 3)",
        precision="bf16",
        layout=(12, 1, 512),
        zero_stage=3,
        global_batch_tokens=2048 * 2048.0,
        gpus_per_node_count=3072,
        intra_node_bandwidth_gb_s=135.0,
        inter_node_bandwidth_gb_s=25.0,
        source="Chowdhery et al. 2022, 'PaLM: Scaling Language Modeling with Pathways', Table 3, Section 4",
        url="https://arxiv.org/abs/2204.02311",
        notes="Two TPU v4 pods of 3,072 chips; a pod is one ICI domain (modelled as one 'node').",
    ),
    PublishedRun(
        name="Gopher 280B",
        model=_gpt("Gopher 280B", 280e9, 80, 16384, 128, 32000),
        training_tokens=300e9,
        accelerator=TPU_V3,
        gpu_count=4096,
        mfu=0.325,
        mfu_basis="reported (PaLM paper, Table 3)",
        precision="bf16",
        layout=(8, 4, 128),
        zero_stage=3,
        global_batch_tokens=3 * 2**20,
        gpus_per_node_count=1024,
        intra_node_bandwidth_gb_s=80.0,
        inter_node_bandwidth_gb_s=12.5,
        source="Rae et al. 2021, 'Scaling Language Models: Methods, Analysis & Insights from Training "
        "Gopher'; MFU from Chowdhery et al. 2022, Table 3",
        url="https://arxiv.org/abs/2112.11446",
        tags=("layout assumed",),
    ),
)


@dataclass(frozen=True)
class MfuDefault:
    """The default MFU for a plan: median of the matching runs, the whole table's p10-p90, and where from."""

    mfu: float
    low_mfu: float
    high_mfu: float
    run_names: tuple[str, ...]
    source: str


def mfu_default(
    accelerator_name: str,
    active_parameter_count: float,
    runs: Sequence[PublishedRun] = PUBLISHED_RUNS,
    values: Mapping[str, float] | None = None,
) -> MfuDefault:
    """Median MFU of the published runs on the accelerator's generation in the model's size class; with fewer
    than two such runs, of the generation; with fewer than two, of the whole table. The range is the 10th and
    90th percentile of all the runs' MFUs (linear interpolation). values: each run's MFU to use (by name;
    the engine passes the compute MFUs it derives from the published end-to-end ones), default run.mfu."""
    value = {r.name: (values[r.name] if values is not None else r.mfu) for r in runs}
    generation = accelerator_generation(accelerator_name)
    cls = size_class(active_parameter_count)
    cell = [r for r in runs if r.generation == generation and r.size_class == cls]
    scope = f"{generation} GPUs, {cls} parameters"
    if len(cell) < 2:
        cell = [r for r in runs if r.generation == generation]
        scope = f"{generation} GPUs, all sizes"
    if len(cell) < 2:
        cell = list(runs)
        scope = f"all generations ({generation} has fewer than two), all sizes"
    mfu = float(statistics.median(value[r.name] for r in cell))
    everything = np.array([value[r.name] for r in runs])
    low, high = (float(x) for x in np.percentile(everything, [10, 90]))
    names = tuple(r.name for r in cell)
    kind = "compute MFU" if values is not None else "MFU"
    source = (
        f"median {kind} {mfu:.3f} of {len(cell)} published runs ({scope}: {', '.join(names)}); "
        f"range p10-p90 of all {len(runs)} runs: {low:.3f}-{high:.3f}"
    )
    return MfuDefault(mfu=mfu, low_mfu=low, high_mfu=high, run_names=names, source=source)
