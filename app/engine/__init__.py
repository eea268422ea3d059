"""The cost engine: what training and serving a model costs, and what each lever changes.

Pure numpy + standard library: frozen dataclasses in, dataclasses/arrays out; no I/O, no clock, no web or
database imports (tests/engine/test_engine_purity.py guards this). Formulas and sources:
docs/methodology/cost-model.md; every function states its own.

Modules: hardware (accelerators, precisions), architecture (ModelSpec, PRESETS), formulas (the shared
array formulas), training, parallelism (distributed lever), precision (mixed-precision lever), finetune
(transfer-learning lever), serving (serving + quantization lever), sweep (vectorised plans, Pareto,
cheapest plan), article (the seed article's four formulas and reported results), strategies (the 16 lever
combinations for the price-war simulator).

Glossary (units live in names):
- N, parameter_count: all parameters; active_parameter_count: per-token parameters of a mixture of experts.
- D, training_tokens: tokens (or units of work) seen in training.
- model FLOPs: 6·N·D, what MFU counts; hardware FLOPs: model FLOPs plus recomputation (8·N·D with full).
- MFU, mfu_fraction: model FLOPs per second / (GPUs × peak) — realised fraction of the dense peak.
- peak_tflops: dense tensor throughput, 1e12 FLOP/s (TOP/s for integers); never 2:4-sparse headline figures.
- precision: fp32, tf32 (compute mode, 4-byte storage), bf16, fp16, fp8, int8, int4, fp4.
- bytes_per_value: storage bytes of one value at a precision (fp32 4 … int4 0.5).
- GPU-hours (gpu_hours): one accelerator busy for one hour;
  wall_clock_days = GPU-hours / GPUs / 24 / scaling efficiency.
- scaling_efficiency: ideal step time / modelled step time (communication, pipeline bubble).
- ZeRO stage: 1 shards optimizer state, 2 also gradients, 3 also weights over data-parallel ranks.
- data/tensor/pipeline_parallel_count: the degrees of a parallel layout; micro_batch_count m.
- pipeline bubble: (p−1)/m extra time of 1F1B scheduling.
- ring all-reduce: 2·(n−1)/n·S/B + 2·(n−1)·α seconds.
- PUE: data-centre power usage effectiveness;
  energy_kwh = GPU-hours × board_power_w × utilisation × PUE / 1000.
- grid_kg_co2_per_kwh: carbon intensity of the electricity; co2_kg = energy_kwh × intensity.
- KV cache: keys and values kept per token: 2·L·n_kv·d·bytes (the 2 is K and V).
- prefill / time_to_first_token_s (TTFT): processing the prompt; decode / time_per_output_token_s (TPOT).
- bound: 'memory' when a decode step waits on memory traffic, 'compute' when on tensor throughput.
- utilization_fraction: share of paid GPU time that serves traffic.
- cost_usd_per_million_output_tokens: $/GPU-hour × GPUs / (3600 × tokens/s × utilisation) × 1e6.
- blended cost: a request cycle's cost over prompt + output tokens.
- unit: a unit of work for non-language models (image, request, audio_second); cost per 1,000 units.
- quality_loss_points / quality_delta_points: benchmark or accuracy points; inputs, never assumed zero.
- lever: distributed, transfer, quantization, mixed_precision — the article's four cost levers.
- LoRA: low-rank adapters; training ≈ 4·N·D_ft FLOPs, optimizer state for adapters only.
- Pareto frontier: plans no other plan beats on cost, time and quality loss at once.

market (the price-war simulator, app/engine/market/; its package docstring has the full list):
- Scenario / Strategy: frozen inputs (our firm, rivals, market, uncertainty) and one way to build and serve.
- price_usd_per_million_tokens, unit_cost_usd_per_million_tokens: p and c per 1M output tokens.
- cost_decline_per_year k, price_decline_per_year d: costs fall k-fold, market list prices d-fold a year.
- market_elasticity vs switching_elasticity: whole-market volume vs moving between providers (logit).
- subsidy_budget_usd: what a rival may lose below cost before its floor returns to its unit cost.
- survival_curve_fraction: share of Monte Carlo paths with cash >= 0 so far; death is absorbing.
- breakeven_month, payback_month, runway_months: medians over paths; None means "never" / "not burning".
- p5 … p95: percentiles over paths; common random numbers: every strategy sees the same draws.
"""
