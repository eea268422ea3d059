"""Model architectures and a catalogue of published ones (PRESETS).

A language model is described by its transformer shape; other workloads (vision, recommendation, speech) by
forward FLOPs and bytes moved per unit of work (an image, a request, a second of audio).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any, Literal, get_args

Workload = Literal["language", "vision", "recommendation", "speech"]
WORKLOADS: tuple[str, ...] = get_args(Workload)
MLP_ACTIVATIONS: tuple[str, ...] = ("swiglu", "gelu")


@dataclass(frozen=True)
class ModelSpec:
    """Shape of a model.

    parameter_count: all parameters (for a mixture of experts, every expert: all must be resident).
    active_parameter_count: parameters used per token (MoE); None means dense (= parameter_count).
    sequence_length: training sequence length in tokens (the context a preset was pre-trained with).
    kv_cache_values_per_token_per_layer: values cached per token per layer; None means standard attention,
        2·kv_head_count·head_dim (K and V). Multi-head latent attention (DeepSeek-V2/V3) caches one
        compressed latent plus the decoupled RoPE key instead: kv_lora_rank + rope_dim = 512 + 64.
    flops_per_unit / bytes_per_unit / unit_name: forward FLOPs and bytes read or written per unit of work
        (beyond the weights) for non-language workloads; language models use 2·active params per token and
        the KV cache.
    mlp_activation: "swiglu" (Llama-style gated MLP, no dropout; the default) or "gelu" (GPT-style 4h MLP with
        dropout). intermediate_size: the MLP's hidden width per token (all active experts together for a
        mixture of experts); None infers it from the parameter count (see ffn_hidden_size).
    """

    parameter_count: float
    name: str = "custom"
    workload: str = "language"
    active_parameter_count: float | None = None
    layer_count: int | None = None
    hidden_size: int | None = None
    attention_head_count: int | None = None
    kv_head_count: int | None = None
    vocabulary_size: int | None = None
    sequence_length: int | None = None
    kv_cache_values_per_token_per_layer: int | None = None
    flops_per_unit: float | None = None
    bytes_per_unit: float | None = None
    unit_name: str = "token"
    mlp_activation: str = "swiglu"
    intermediate_size: int | None = None

    def __post_init__(self) -> None:
        if self.mlp_activation not in MLP_ACTIVATIONS:
            raise ValueError(f"mlp_activation must be one of {MLP_ACTIVATIONS}, not {self.mlp_activation!r}")
        if self.workload not in WORKLOADS:
            raise ValueError(f"workload must be one of {WORKLOADS}, not {self.workload!r}")
        if not self.parameter_count > 0:
            raise ValueError("parameter_count must be positive")
        if self.active_parameter_count is not None and not (
            0 < self.active_parameter_count <= self.parameter_count
        ):
            raise ValueError("active_parameter_count must be in (0, parameter_count]")
        if (
            self.attention_head_count
            and self.kv_head_count
            and self.attention_head_count % self.kv_head_count
        ):
            raise ValueError("attention_head_count must be a multiple of kv_head_count")

    @property
    def active_parameters(self) -> float:
        """Parameters that compute per token (N in 6·N·D)."""
        return float(self.active_parameter_count or self.parameter_count)

    @property
    def head_dim(self) -> int | None:
        if self.hidden_size and self.attention_head_count:
            return self.hidden_size // self.attention_head_count
        return None

    @property
    def kv_values_per_token_per_layer(self) -> int | None:
        """K and V values cached per token per layer: 2·n_kv·d (the 2 is K and V) unless overridden."""
        if self.kv_cache_values_per_token_per_layer is not None:
            return self.kv_cache_values_per_token_per_layer
        n_kv = self.kv_head_count or self.attention_head_count
        if n_kv and self.head_dim:
            return 2 * n_kv * self.head_dim
        return None

    @property
    def forward_flops_per_unit(self) -> float:
        """Forward FLOPs per unit of work: 2·N_active per token for language, else flops_per_unit."""
        if self.workload == "language" or self.flops_per_unit is None:
            return 2.0 * self.active_parameters
        return float(self.flops_per_unit)

    @property
    def kv_head_ratio(self) -> float:
        """Key/value heads per query head (1 for multi-head attention, 1/8 for Llama 2 70B's GQA)."""
        if self.attention_head_count and self.kv_head_count:
            return self.kv_head_count / self.attention_head_count
        return 1.0

    @property
    def ffn_hidden_size(self) -> float | None:
        """The MLP's hidden width: intermediate_size when given; GELU models 4h; SwiGLU models inferred from
        the active parameters: per layer 2h² + 2h²·r (q, o and the narrower k, v) + 3·h·f (gate, up, down),
        plus the (untied) embeddings V·h twice — Llama 2 7B gives 11,011 (published 11,008), 70B 28,674
        (28,672). Falls back to 8h/3 when that inference is impossible."""
        if self.intermediate_size:
            return float(self.intermediate_size)
        h, layers = self.hidden_size, self.layer_count
        if not (h and layers):
            return None
        if self.mlp_activation == "gelu":
            return 4.0 * h
        embeddings = 2.0 * (self.vocabulary_size or 0) * h
        per_layer = (self.active_parameters - embeddings) / layers
        f = (per_layer - (2.0 + 2.0 * self.kv_head_ratio) * h * h) / (3.0 * h)
        return f if f > 0 else 8.0 * h / 3.0

    @property
    def uses_kv_cache(self) -> bool:
        return self.workload == "language" and self.flops_per_unit is None


@dataclass(frozen=True)
class ModelPreset(ModelSpec):
    """A published architecture: a ModelSpec plus its training data size and a citation."""

    training_tokens: float | None = None
    source: str = ""
    notes: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Flat, JSON-ready dict of every field (what the database seed stores)."""
        return asdict(self)

    def to_model_spec(self) -> ModelSpec:
        fields = {k: v for k, v in asdict(self).items() if k not in ("training_tokens", "source", "notes")}
        return ModelSpec(**fields)


def _llm(name: str, **kw: Any) -> ModelPreset:
    return ModelPreset(name=name, workload="language", unit_name="token", **kw)


_PRESET_LIST: tuple[ModelPreset, ...] = (
    _llm(
        "GPT-3 175B",
        parameter_count=174.6e9,
        layer_count=96,
        hidden_size=12288,
        attention_head_count=96,
        kv_head_count=96,
        vocabulary_size=50257,
        sequence_length=2048,
        training_tokens=300e9,
        mlp_activation="gelu",
        source="Brown et al. 2020, 'Language Models are Few-Shot Learners', Table 2.1 and D.1",
        notes="Dense decoder; 3.14e23 training FLOPs (3,640 PF-days) published.",
    ),
    _llm(
        "Llama 2 7B",
        parameter_count=6.74e9,
        layer_count=32,
        hidden_size=4096,
        attention_head_count=32,
        kv_head_count=32,
        vocabulary_size=32000,
        sequence_length=4096,
        intermediate_size=11008,
        training_tokens=2e12,
        source="Touvron et al. 2023, 'Llama 2', Table 1-2; Llama 2 model card",
        notes="184,320 A100-80GB GPU-hours, 400 W.",
    ),
    _llm(
        "Llama 2 70B",
        parameter_count=68.98e9,
        layer_count=80,
        hidden_size=8192,
        attention_head_count=64,
        kv_head_count=8,
        vocabulary_size=32000,
        sequence_length=4096,
        intermediate_size=28672,
        training_tokens=2e12,
        source="Touvron et al. 2023, 'Llama 2', Table 1-2; Llama 2 model card",
        notes="Grouped-query attention (8 KV heads). 1,720,320 A100-80GB GPU-hours, 400 W.",
    ),
    _llm(
        "Llama 3.1 8B",
        parameter_count=8.03e9,
        layer_count=32,
        hidden_size=4096,
        attention_head_count=32,
        kv_head_count=8,
        vocabulary_size=128256,
        sequence_length=8192,
        intermediate_size=14336,
        training_tokens=15.6e12,
        source="Llama Team 2024, 'The Llama 3 Herd of Models', Table 3; Llama 3.1 model card",
        notes="Pre-trained at 8K, extended to 128K context. Model card: 1.46M H100-80GB GPU-hours.",
    ),
    _llm(
        "Llama 3.1 70B",
        parameter_count=70.6e9,
        layer_count=80,
        hidden_size=8192,
        attention_head_count=64,
        kv_head_count=8,
        vocabulary_size=128256,
        sequence_length=8192,
        intermediate_size=28672,
        training_tokens=15.6e12,
        source="Llama Team 2024, 'The Llama 3 Herd of Models', Table 3; Llama 3.1 model card",
        notes="128K context after extension. Model card: 7.0M H100-80GB GPU-hours.",
    ),
    _llm(
        "Llama 3.1 405B",
        parameter_count=405e9,
        layer_count=126,
        hidden_size=16384,
        attention_head_count=128,
        kv_head_count=8,
        vocabulary_size=128256,
        sequence_length=8192,
        intermediate_size=53248,
        training_tokens=15.6e12,
        source="Llama Team 2024, 'The Llama 3 Herd of Models', Table 3-4; Llama 3.1 model card",
        notes="3.8e25 FLOPs; 38-43 % MFU on up to 16K H100 reported. Model card: 30.84M H100-80GB GPU-hours.",
    ),
    _llm(
        "Mixtral 8x7B",
        parameter_count=46.7e9,
        active_parameter_count=12.9e9,
        layer_count=32,
        hidden_size=4096,
        attention_head_count=32,
        kv_head_count=8,
        vocabulary_size=32000,
        sequence_length=32768,
        intermediate_size=2 * 14336,
        training_tokens=None,
        source="Jiang et al. 2024, 'Mixtral of Experts' (arXiv:2401.04088)",
        notes="Sparse MoE, 8 experts, 2 active per token. Training tokens not published.",
    ),
    _llm(
        "DeepSeek-V3",
        parameter_count=671e9,
        active_parameter_count=37e9,
        layer_count=61,
        hidden_size=7168,
        attention_head_count=128,
        kv_head_count=128,
        vocabulary_size=129280,
        sequence_length=4096,
        kv_cache_values_per_token_per_layer=512 + 64,
        intermediate_size=9 * 2048,
        training_tokens=14.8e12,
        source="DeepSeek-AI 2024, 'DeepSeek-V3 Technical Report' (arXiv:2412.19437), Sections 2.1, 4.2",
        notes=(
            "MoE, 256 routed + 1 shared expert, 8 routed active. Multi-head latent attention: the KV cache "
            "holds a 512-dim compressed latent plus a 64-dim decoupled RoPE key per token per layer (576 "
            "values), modelled with kv_cache_values_per_token_per_layer=576 instead of 2·n_kv·d. head_dim "
            "from hidden/heads (56) is not the real 128-dim head and is not used for the cache. "
            "2.788M H800 GPU-hours reported. 128K context after extension."
        ),
    ),
    ModelPreset(
        name="BERT-base",
        workload="language",
        parameter_count=110e6,
        layer_count=12,
        hidden_size=768,
        attention_head_count=12,
        kv_head_count=12,
        vocabulary_size=30522,
        sequence_length=512,
        training_tokens=1e6 * 256 * 512,
        mlp_activation="gelu",
        source="Devlin et al. 2019, 'BERT', Section 3.1 and Appendix A.2",
        notes="Encoder only. 1M steps x 256 sequences x 512 tokens = 1.31e11 tokens (upper bound: 90 % of "
        "steps used 128-token sequences).",
    ),
    ModelPreset(
        name="ResNet-50",
        workload="vision",
        parameter_count=25.6e6,
        flops_per_unit=4.1e9,
        bytes_per_unit=224 * 224 * 3 * 4.0,
        unit_name="image",
        training_tokens=1.281e6 * 90,
        source="He et al. 2016, 'Deep Residual Learning' (Table 1: 3.8e9 multiply-adds); torchvision weights "
        "card (4.09 GFLOPS, 25.6M parameters)",
        notes="flops_per_unit 4.1e9 per 224x224 forward pass as in docs/methodology/cost-model.md "
        "('Beyond language models'); the figure is commonly "
        "counted in multiply-adds, so true FLOPs may be up to 2x higher. bytes_per_unit: one fp32 input "
        "image. training_tokens = images seen: ImageNet-1k 1.281M images x 90 epochs.",
    ),
    ModelPreset(
        name="DLRM (MLPerf, Criteo 1TB)",
        workload="recommendation",
        parameter_count=24e9,
        active_parameter_count=2.5e6,
        flops_per_unit=4.8e6,
        bytes_per_unit=26 * 128 * 4.0,
        unit_name="request",
        training_tokens=4.2e9,
        source="Naumov et al. 2019, 'Deep Learning Recommendation Model' (arXiv:1906.00091); MLPerf Training "
        "DLRM reference (bottom MLP 13-512-256-128, top MLP 479-1024-1024-512-256-1, 26 tables x 128 dims)",
        notes="Approximate: ~24e9 embedding parameters (~96 GB fp32) dominate; each request gathers 26 rows "
        "of 128 fp32 values (13 KB, bytes_per_unit) and runs ~2.4M multiply-adds of MLP (flops_per_unit "
        "4.8e6). active_parameter_count = MLP weights + gathered rows. training_tokens = one epoch of "
        "Criteo 1TB click logs (~4.2e9 samples).",
    ),
    ModelPreset(
        name="Whisper large-v2",
        workload="speech",
        parameter_count=1.55e9,
        layer_count=32,
        hidden_size=1280,
        attention_head_count=20,
        kv_head_count=20,
        vocabulary_size=51865,
        sequence_length=448,
        flops_per_unit=6.8e10,
        bytes_per_unit=16000 * 4.0,
        unit_name="audio_second",
        mlp_activation="gelu",
        training_tokens=2.5 * 2**20 * 256 * 30,
        source="Radford et al. 2022, 'Robust Speech Recognition via Large-Scale Weak Supervision', "
        "Table 1 and Section 2.4; openai/whisper-large-v2 model card",
        notes="Encoder-decoder, 32+32 layers, d_model 1280, 20 heads; 30 s windows = 1500 encoder frames. "
        "flops_per_unit estimated as 2 x ~0.63e9 encoder params x 50 frames/s plus the decoder at a few "
        "tokens/s (~6.8e10 per second of audio). training_tokens = audio seconds: 2^20 updates x 256 "
        "segments x 30 s, x2.5 epochs for v2 (approximate).",
    ),
)

PRESETS: Mapping[str, ModelPreset] = MappingProxyType({p.name: p for p in _PRESET_LIST})
