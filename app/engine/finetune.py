"""Transfer-learning lever: fine-tune a base (fully or with LoRA adapters) instead of training from scratch.

Full fine-tuning costs 6·N·D_ft FLOPs; LoRA ≈ 4·N·D_ft (the frozen base still runs the forward pass and the
activation-gradient half of the backward; weight gradients exist only for the adapters), with optimizer
state for the adapters only (Hu et al. 2021; docs/methodology/cost-model.md §6). The base costs nothing
(open weights), a licence, or a share of one's own pre-training.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.engine.training import TrainingEstimate, TrainingPlan, estimate_training

FINE_TUNE_METHODS: tuple[str, ...] = ("full", "lora")
BASE_COST_KINDS: tuple[str, ...] = ("open_weights", "licence", "own_pretraining")


def lora_parameter_count(
    layer_count: int, hidden_size: int, rank: int, adapted_matrix_count: int = 4
) -> float:
    """Adapter parameters: r·(h_in + h_out) per adapted h×h matrix; default the 4 attention projections per
    layer (q, k, v, o — grouped-query k/v are narrower, so this slightly overcounts)."""
    return float(layer_count * adapted_matrix_count * rank * 2 * hidden_size)


@dataclass(frozen=True)
class FineTunePlan:
    """base_plan describes the model, accelerator, GPUs, precision, MFU and price; its training_tokens are the
    *pre-training* tokens of the from-scratch alternative. expected_quality_delta_points is an input."""

    base_plan: TrainingPlan
    fine_tune_tokens: float
    method: str = "lora"
    lora_rank: int = 16
    base_cost_kind: str = "open_weights"
    base_licence_usd: float = 0.0
    own_pretraining_cost_usd: float = 0.0
    amortisation_model_count: int = 1
    expected_quality_delta_points: float | None = None

    def __post_init__(self) -> None:
        if self.method not in FINE_TUNE_METHODS:
            raise ValueError(f"method must be one of {FINE_TUNE_METHODS}")
        if self.base_cost_kind not in BASE_COST_KINDS:
            raise ValueError(f"base_cost_kind must be one of {BASE_COST_KINDS}")
        if not self.fine_tune_tokens > 0:
            raise ValueError("fine_tune_tokens must be positive")
        if self.amortisation_model_count < 1:
            raise ValueError("amortisation_model_count must be >= 1")


@dataclass(frozen=True)
class FineTuneEstimate:
    fine_tune: TrainingEstimate
    from_scratch: TrainingEstimate
    adapter_parameter_count: float | None
    base_cost_usd: float
    total_cost_usd: float | None
    from_scratch_cost_usd: float | None
    saving_ratio: float | None
    expected_quality_delta_points: float | None
    assumptions: tuple[str, ...]


def estimate_fine_tune(plan: FineTunePlan) -> FineTuneEstimate:
    """Fine-tuning run, base cost and the from-scratch alternative on the same hardware."""
    base = plan.base_plan
    model = base.model
    assumptions: list[str] = []
    adapters: float | None = None
    if plan.method == "lora":
        if not (model.layer_count and model.hidden_size):
            raise ValueError("LoRA needs layer_count and hidden_size")
        adapters = lora_parameter_count(model.layer_count, model.hidden_size, plan.lora_rank)
        ft_plan = replace(
            base,
            training_tokens=plan.fine_tune_tokens,
            flops_per_parameter_token=4.0,
            trainable_parameter_count=adapters,
        )
        assumptions.append(
            f"LoRA rank {plan.lora_rank} on the 4 attention projections: 4·N·D FLOPs, "
            "adapter-only gradients and optimizer state"
        )
    else:
        ft_plan = replace(base, training_tokens=plan.fine_tune_tokens)
    fine_tune = estimate_training(ft_plan)
    scratch = estimate_training(base)
    if plan.base_cost_kind == "open_weights":
        base_cost = 0.0
        assumptions.append("open-weights base: no base cost")
    elif plan.base_cost_kind == "licence":
        base_cost = plan.base_licence_usd
    else:
        base_cost = plan.own_pretraining_cost_usd / plan.amortisation_model_count
    total = None if fine_tune.cost_usd is None else fine_tune.cost_usd + base_cost
    saving = None
    if total and scratch.cost_usd is not None:
        saving = scratch.cost_usd / total
    if plan.expected_quality_delta_points is None:
        assumptions.append("expected quality change not given: unknown")
    return FineTuneEstimate(
        fine_tune=fine_tune,
        from_scratch=scratch,
        adapter_parameter_count=adapters,
        base_cost_usd=base_cost,
        total_cost_usd=total,
        from_scratch_cost_usd=scratch.cost_usd,
        saving_ratio=saving,
        expected_quality_delta_points=plan.expected_quality_delta_points,
        assumptions=tuple(assumptions),
    )
