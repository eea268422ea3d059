"""The formulas, once. Every function works on floats and on numpy arrays (broadcasting), so the scalar
estimates and the vectorised sweeps call the same code and cannot disagree.

Sources: docs/methodology/cost-model.md (Kaplan et al. 2020; Narayanan et al. 2021; Korthikanti et al. 2022;
Rajbhandari et al. 2020 (ZeRO); Epoch AI). Numbers in: FLOPs, bytes, seconds, TFLOP/s, TB/s, GB/s, USD.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

ArrayLike = TypeVar("ArrayLike", float, NDArray[np.float64])
F = float | NDArray[np.float64]

TERA = 1e12
SECONDS_PER_HOUR = 3600.0
HOURS_PER_DAY = 24.0


# --- training compute -------------------------------------------------------------------------------------


def training_model_flops(active_parameters: F, tokens: F, flops_per_parameter_token: F = 6.0) -> F:
    """Model FLOPs C = 6·N·D (forward 2ND + backward 4ND); 4·N·D for LoRA-style adapters."""
    return flops_per_parameter_token * active_parameters * tokens


def recomputation_flops_factor(mode: str, sequence_length: float | None, hidden_size: float | None) -> float:
    """Hardware FLOPs / model FLOPs for an activation recomputation mode.

    full: one extra forward pass, 8ND/6ND = 4/3. selective (Korthikanti et al. 2022) recomputes only the
    attention core (QKᵀ and AV, 4·b·s²·h FLOPs per layer against 3·(24·b·s·h² + 4·b·s²·h) for forward and
    backward), i.e. 1 + s / (3·(6h + s)); ≈1.009 for GPT-3. Without s and h we take 1.0 for selective.
    """
    if mode == "none":
        return 1.0
    if mode == "full":
        return 8.0 / 6.0
    if mode == "selective":
        if sequence_length and hidden_size:
            return 1.0 + sequence_length / (3.0 * (6.0 * hidden_size + sequence_length))
        return 1.0
    raise ValueError(f"activation_recomputation must be none, selective or full, not {mode!r}")


def mixed_precision_peak_tflops(peak_half_tflops: F, peak_full_tflops: F, half_fraction: F) -> F:
    """Effective peak when a fraction f of the operations runs at the half-precision peak and 1−f at full
    precision: 1 / (f/peak_half + (1−f)/peak_full) (docs/methodology/cost-model.md §5)."""
    return 1.0 / (half_fraction / peak_half_tflops + (1.0 - half_fraction) / peak_full_tflops)


def gpu_hours_from_mfu(model_flops: F, peak_tflops: F, mfu_fraction: F) -> F:
    """GPU-hours = C / (peak · MFU · 3600). MFU counts model FLOPs (6ND), not recomputation."""
    return model_flops / (peak_tflops * TERA * mfu_fraction * SECONDS_PER_HOUR)


def gpu_hours_from_achieved(hardware_flops: F, achieved_tflops_per_gpu: F) -> F:
    """GPU-hours when a per-GPU achieved throughput is given; it counts hardware FLOPs (Megatron-LM)."""
    return hardware_flops / (achieved_tflops_per_gpu * TERA * SECONDS_PER_HOUR)


def wall_clock_days(gpu_hours: F, gpu_count: F, scaling_efficiency: F = 1.0) -> F:
    """Wall-clock days = GPU-hours / GPUs / 24, stretched by 1 / scaling efficiency."""
    return gpu_hours / (gpu_count * scaling_efficiency) / HOURS_PER_DAY


def cost_usd(gpu_hours: F, price_usd_per_gpu_hour: F) -> F:
    return gpu_hours * price_usd_per_gpu_hour


def energy_kwh(gpu_hours: F, board_power_w: F, power_utilization_fraction: F, pue: F) -> F:
    """E = GPU-hours × board power × utilisation × PUE (docs/methodology/cost-model.md §7), in kWh."""
    return gpu_hours * board_power_w / 1000.0 * power_utilization_fraction * pue


# --- training memory --------------------------------------------------------------------------------------


def activation_bytes_per_layer(
    sequence_length: F, micro_batch_size: F, hidden_size: F, attention_head_count: F, mode: str
) -> F:
    """Korthikanti et al. 2022, 16-bit activations of one transformer layer, no parallelism:
    s·b·h·(34 + 5·a·s/h) bytes; selective recomputation drops 5as/h; full keeps only the layer input,
    2·s·b·h."""
    sbh = sequence_length * micro_batch_size * hidden_size
    if mode == "none":
        return sbh * (34.0 + 5.0 * attention_head_count * sequence_length / hidden_size)
    if mode == "selective":
        return sbh * 34.0
    if mode == "full":
        return sbh * 2.0
    raise ValueError(f"activation_recomputation must be none, selective or full, not {mode!r}")


def transformer_activation_bytes_per_layer(
    sequence_length: F,
    micro_batch_size: F,
    hidden_size: F,
    attention_head_count: F,
    mode: str,
    *,
    kv_head_ratio: F = 1.0,
    ffn_ratio: F = 4.0,
    gated_mlp: bool = False,
    dropout: bool = True,
) -> F:
    """16-bit activations of one transformer layer, no parallelism, Korthikanti et al. 2022's accounting
    generalised to Llama-style blocks (in units of s·b·h bytes unless noted):

    - two norms' inputs 4; attention: QKV input 2, Q 2, K and V 4·r (r = kv heads / heads: grouped-query
      attention stores narrower K and V), output-projection input 2, dropout mask 1 (GPT only);
    - attention core 2·a·s/h (softmax output) + 3·a·s/h more with attention dropout (mask 1, output 2);
      selective recomputation (or FlashAttention) drops the whole core;
    - MLP of width f = ffn_ratio·h: GELU stores its two linear inputs and the GELU input, 2 + 2·f/h + 2·f/h,
      plus a dropout mask 1; SwiGLU stores the input 2 and gate, up, SiLU output and product, 2 + 8·f/h.
    GPT (r = 1, f = 4h, GELU, dropout) gives Korthikanti's 34 + 5·a·s/h. Llama 2 7B (f = 2.69h) 37.5, Llama 2
    70B (r = 1/8, f = 3.5h) 40.5: 10-19 % more than the GPT constants. Full recomputation keeps the layer
    input only, 2·s·b·h."""
    sbh = sequence_length * micro_batch_size * hidden_size
    if mode == "full":
        return sbh * 2.0
    if mode not in ("none", "selective"):
        raise ValueError(f"activation_recomputation must be none, selective or full, not {mode!r}")
    drop = 1.0 if dropout else 0.0
    attention = 6.0 + 4.0 * kv_head_ratio + drop
    mlp = 2.0 + (8.0 * ffn_ratio if gated_mlp else 4.0 * ffn_ratio + drop)
    per_sbh = 4.0 + attention + mlp
    if mode == "none":
        per_sbh = per_sbh + (5.0 if dropout else 2.0) * attention_head_count * sequence_length / hidden_size
    return sbh * per_sbh


def sharded_state_bytes(
    parameters: F,
    weight_bytes_per_parameter: F,
    gradient_bytes_per_parameter: F,
    optimizer_bytes_per_parameter: F,
    model_parallel_count: F,
    data_parallel_count: F,
    zero_stage: int,
) -> tuple[F, F, F]:
    """(weights, gradients, optimizer) bytes per GPU. Tensor × pipeline parallelism divide all three; ZeRO-1
    divides the optimizer by the data-parallel degree, ZeRO-2 also gradients, ZeRO-3 also weights."""
    per_shard = parameters / model_parallel_count
    weights = per_shard * weight_bytes_per_parameter / (data_parallel_count if zero_stage >= 3 else 1.0)
    grads = per_shard * gradient_bytes_per_parameter / (data_parallel_count if zero_stage >= 2 else 1.0)
    optim = per_shard * optimizer_bytes_per_parameter / (data_parallel_count if zero_stage >= 1 else 1.0)
    return weights, grads, optim


# --- communication ----------------------------------------------------------------------------------------


def ring_allreduce_s(message_bytes: F, participant_count: F, link_bandwidth_gb_s: F, hop_latency_s: F) -> F:
    """Ring all-reduce: 2·(n−1)/n · S / B + 2·(n−1)·α seconds (S bytes, B GB/s per direction, α per hop).
    Zero for a single participant."""
    n = np.maximum(participant_count, 1.0)
    return 2.0 * (n - 1.0) / n * message_bytes / (link_bandwidth_gb_s * 1e9) + 2.0 * (n - 1.0) * hop_latency_s


def pipeline_bubble_fraction(pipeline_stage_count: F, micro_batch_count: F) -> F:
    """1F1B pipeline bubble overhead (p−1)/m relative to the ideal compute time."""
    return (pipeline_stage_count - 1.0) / micro_batch_count


# --- serving ---------------------------------------------------------------------------------------------


def kv_cache_bytes_per_token(layer_count: F, kv_values_per_token_per_layer: F, kv_bytes_per_value: F) -> F:
    """KV cache per token = L · (2·n_kv·d) · bytes (the 2 is K and V; included in the values count)."""
    return layer_count * kv_values_per_token_per_layer * kv_bytes_per_value


def weight_parameters_read(total_parameters: F, active_parameters: F, batch_size: F) -> F:
    """Parameters a decode step must read. Dense: all. Mixture of experts: each token touches a fraction
    r = active/total; b independent tokens touch 1 − (1 − r)^b of the weights (b=1 → active, large b → all).
    Routing is assumed uniform and independent."""
    r = active_parameters / total_parameters
    return total_parameters * (1.0 - (1.0 - r) ** batch_size)


def serving_step(
    *,
    weight_bytes_read_per_gpu: F,
    per_unit_bytes_per_gpu: F,
    batch_size: F,
    forward_flops_per_unit: F,
    gpus_per_replica: F,
    peak_tflops: F,
    memory_bandwidth_tb_s: F,
    memory_efficiency_fraction: F,
    compute_efficiency_fraction: F,
    communication_s: F,
) -> tuple[F, F, F]:
    """One decode step (or one batch of non-language units): returns (step_s, memory_s, compute_s).

    memory time = (weights read + KV/unit bytes) / (bandwidth · efficiency); compute time =
    flops_per_unit·b / (GPUs · peak · efficiency); step = max(memory, compute) + communication
    (docs/methodology/cost-model.md §11).
    """
    memory_s = (weight_bytes_read_per_gpu + per_unit_bytes_per_gpu) / (
        memory_bandwidth_tb_s * TERA * memory_efficiency_fraction
    )
    compute_s = (
        forward_flops_per_unit
        * batch_size
        / (gpus_per_replica * peak_tflops * TERA * compute_efficiency_fraction)
    )
    return np.maximum(memory_s, compute_s) + communication_s, memory_s, compute_s


def prefill_s(
    *,
    forward_flops_per_token: F,
    batch_size: F,
    prompt_tokens: F,
    gpus_per_replica: F,
    peak_tflops: F,
    compute_efficiency_fraction: F,
    weight_bytes_per_gpu: F,
    memory_bandwidth_tb_s: F,
    memory_efficiency_fraction: F,
) -> F:
    """Prefill ≈ 2·N·b·P / (GPUs · peak · efficiency), "
    "never below one read of the weights (docs/methodology/cost-model.md §10)."""
    compute = (
        forward_flops_per_token
        * batch_size
        * prompt_tokens
        / (gpus_per_replica * peak_tflops * TERA * compute_efficiency_fraction)
    )
    memory = weight_bytes_per_gpu / (memory_bandwidth_tb_s * TERA * memory_efficiency_fraction)
    return np.maximum(compute, memory)


def cost_usd_per_million(
    price_usd_per_gpu_hour: F, gpus_per_replica: F, units_per_s: F, utilization_fraction: F
) -> F:
    """$/GPU-hour × GPUs / (3600 × units/s × utilisation) × 1e6 (docs/methodology/cost-model.md §12)."""
    return (
        price_usd_per_gpu_hour
        * gpus_per_replica
        / (SECONDS_PER_HOUR * units_per_s * utilization_fraction)
        * 1e6
    )
