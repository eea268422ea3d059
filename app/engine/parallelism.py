"""Distributed training lever: data/tensor/pipeline parallelism, ZeRO, links → scaling efficiency.

A training step of the ideal model is pure compute. The modelled step adds:
- the pipeline bubble (p−1)/m of 1F1B scheduling (Narayanan et al. 2021);
- the data-parallel gradient all-reduce (ring, COST-MODEL §4), overlapped with the backward pass so only the
  part longer than the backward pass is exposed; ZeRO-3 moves 1.5× the bytes (an all-gather of weights in the
  forward and backward plus a reduce-scatter of gradients, Rajbhandari et al. 2020);
- tensor-parallel all-reduces of activations: 2 in the forward and 2 in the backward per layer (Megatron-LM),
  on the critical path (not overlapped).
Scaling efficiency = ideal step time / modelled step time.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.engine import formulas as fx


@dataclass(frozen=True)
class ParallelismPlan:
    """How a training run is laid out.

    micro_batch_count (m) is the number of micro-batches per pipeline per optimizer step;
    micro_batch_size_count (b) sequences per micro-batch. global_batch_token_count, when given, fixes the
    tokens per optimizer step instead (strong scaling, as real runs do: Llama 2 used 4M tokens):
    m = max(1, global / (data-parallel degree · b · s)), so more GPUs mean less compute to hide the
    all-reduce behind. Link bandwidths are per GPU, per direction, GB/s:
    defaults are NVLink 3 (A100: 600 GB/s bidirectional → 300 per direction) and one 200 Gb/s HDR InfiniBand
    NIC per GPU (25 GB/s). hop_latency_s: per ring hop (≈5 µs across InfiniBand, used for both).
    """

    data_parallel_count: int = 1
    tensor_parallel_count: int = 1
    pipeline_parallel_count: int = 1
    zero_stage: int = 0
    micro_batch_count: int = 8
    micro_batch_size_count: int = 1
    gpus_per_node_count: int = 8
    intra_node_bandwidth_gb_s: float = 300.0
    inter_node_bandwidth_gb_s: float = 25.0
    hop_latency_s: float = 5e-6
    gradient_compression_ratio: float = 1.0
    backward_overlap_fraction: float = 1.0
    global_batch_token_count: float | None = None

    def __post_init__(self) -> None:
        for name in (
            "data_parallel_count",
            "tensor_parallel_count",
            "pipeline_parallel_count",
            "micro_batch_count",
            "micro_batch_size_count",
            "gpus_per_node_count",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.zero_stage not in (0, 1, 2, 3):
            raise ValueError("zero_stage must be 0, 1, 2 or 3")
        if self.gradient_compression_ratio < 1.0:
            raise ValueError("gradient_compression_ratio must be >= 1 (1 = no compression)")
        if self.global_batch_token_count is not None and not self.global_batch_token_count > 0:
            raise ValueError("global_batch_token_count must be positive")
        if not 0.0 <= self.backward_overlap_fraction <= 1.0:
            raise ValueError("backward_overlap_fraction must be within [0, 1]")

    @property
    def gpu_count(self) -> int:
        return self.data_parallel_count * self.tensor_parallel_count * self.pipeline_parallel_count

    @property
    def model_parallel_count(self) -> int:
        return self.tensor_parallel_count * self.pipeline_parallel_count


@dataclass(frozen=True)
class ScalingEstimate:
    """Per optimizer step, seconds; scaling_efficiency = ideal_step_s / step_s."""

    ideal_step_s: float
    bubble_s: float
    allreduce_s: float
    exposed_allreduce_s: float
    tensor_parallel_comm_s: float
    step_s: float
    scaling_efficiency: float
    data_parallel_link_gb_s: float
    tokens_per_step: float


def scaling_estimate(
    plan: ParallelismPlan,
    *,
    parameter_count: float,
    active_parameter_count: float,
    sequence_length: float,
    hidden_size: float | None,
    layer_count: float | None,
    per_gpu_flops_per_s: float,
    gradient_bytes_per_parameter: float = 2.0,
    activation_bytes_per_value: float = 2.0,
    flops_per_parameter_token: float = 6.0,
) -> ScalingEstimate:
    """Step time and scaling efficiency of `plan` for a "
    "model (per_gpu_flops_per_s = peak × MFU, model FLOPs)."""
    b, m, s = plan.micro_batch_size_count, float(plan.micro_batch_count), sequence_length
    if plan.global_batch_token_count is not None:
        m = max(1.0, plan.global_batch_token_count / (plan.data_parallel_count * b * s))
    tokens_per_step = plan.data_parallel_count * m * b * s
    ideal = (
        flops_per_parameter_token
        * active_parameter_count
        * tokens_per_step
        / (plan.gpu_count * per_gpu_flops_per_s)
    )
    bubble = ideal * float(fx.pipeline_bubble_fraction(plan.pipeline_parallel_count, m))

    # The data-parallel ring crosses nodes as soon as the replicas do not all sit in one node.
    crosses_nodes = plan.gpu_count > plan.gpus_per_node_count
    dp_link = plan.inter_node_bandwidth_gb_s if crosses_nodes else plan.intra_node_bandwidth_gb_s
    gradient_bytes = parameter_count / plan.model_parallel_count * gradient_bytes_per_parameter
    volume_factor = 1.5 if plan.zero_stage >= 3 else 1.0
    allreduce = float(
        fx.ring_allreduce_s(
            gradient_bytes * volume_factor / plan.gradient_compression_ratio,
            plan.data_parallel_count,
            dp_link,
            plan.hop_latency_s,
        )
    )
    backward = ideal * 2.0 / 3.0  # backward is 4ND of 6ND
    exposed = max(0.0, allreduce - plan.backward_overlap_fraction * backward)

    tp_comm = 0.0
    if plan.tensor_parallel_count > 1 and hidden_size and layer_count:
        tp_link = (
            plan.intra_node_bandwidth_gb_s
            if plan.tensor_parallel_count <= plan.gpus_per_node_count
            else plan.inter_node_bandwidth_gb_s
        )
        message = b * s * hidden_size * activation_bytes_per_value
        per_layer = 4.0 * float(
            fx.ring_allreduce_s(message, plan.tensor_parallel_count, tp_link, plan.hop_latency_s)
        )
        tp_comm = per_layer * layer_count / plan.pipeline_parallel_count * m

    step = ideal + bubble + exposed + tp_comm
    return ScalingEstimate(
        ideal_step_s=ideal,
        bubble_s=bubble,
        allreduce_s=allreduce,
        exposed_allreduce_s=exposed,
        tensor_parallel_comm_s=tp_comm,
        step_s=step,
        scaling_efficiency=ideal / step,
        data_parallel_link_gb_s=dp_link,
        tokens_per_step=tokens_per_step,
    )
