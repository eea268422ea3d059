"""One demand system: a constant-elasticity total market around a pure switching logit (docs/methodology/
market-model.md, "Demand").

Every seller of the market is in the logit: our firm, the rivals, and - when the start shares add up to less
than 1 - "other providers" (the fringe), who keep the market's going price (the share-weighted reference
price, following the market's price decline). There is no outside option inside the logit: market expansion
lives in one place only, the total volume.

Switching (who sells). Firm j's utility in month t is u_j = a_j - alpha_j p_j / D(t) (+ gamma dq for a
strategy's quality change), D(t) = d^(-(t-1)/12) the market's price level. The coefficients are set firm by
firm from the stated switching elasticity e_s and each firm's start price and share, never from which firm is
"us": alpha_j = -e_s / (p_j0 (1 - s_j0)), so every firm's own-price elasticity of share at today's prices is
exactly e_s; the brand constants a_j = ln s_j0 + alpha_j p_j0 reproduce the start shares exactly.

Total volume (how much is sold). Q(t) = Q0 (P(t)/P0)^e_m (1 + g)^((t-1)/12) in the logit's own price index
relative to the going rate, ln(P(t)/P0) = -IV(t) / eta, IV = ln sum_j exp(u_j) the inclusive value and
eta = sum_j s_j0 alpha_j p_j0 its price weight at the start: a uniform 1 % cut below the going rate raises Q
by -e_m %, and every price moves Q through the same index that moves the shares. So Q(t) = Q0 exp(kappa
IV(t)) growth, kappa = -e_m / eta. The growth g is stated at the going rate (prices following the market's
decline d): that decline is not counted a second time as expansion.

A rival's cut raises the total by kappa x what it takes from us by switching: for kappa <= 1 (the
random-utility consistency condition of a nested model, checked by Scenario validation) a rival's cut never
raises our sales.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# alpha_j p_j0 = -e_s / (1 - s_j0) is capped so that exp(utility) stays finite at a zero price; only a firm
# holding nearly the whole market with a very elastic switching reaches it (then its own-price elasticity at
# the start is below the stated one; the methodology note says so).
MAX_PRICE_SEMI_ELASTICITY = 200.0
NEWTON_STEPS = 8
# A firm whose demand never turns elastic (a monopolist in a market of elasticity near 0) would raise its
# price for ever: its best-response markup is capped at 1 / MIN_ELASTIC_FRACTION x the small-firm markup
# D / alpha.
MIN_ELASTIC_FRACTION = 0.01


def fringe_share_fraction(start_shares: list[float]) -> float:
    """The start share of other providers: what the named firms do not hold (0 when they hold it all)."""
    rest = 1.0 - sum(start_shares)
    return rest if rest > 1e-12 else 0.0


def reference_price_usd_per_million_tokens(prices: list[float], shares: list[float]) -> float:
    """Share-weighted start price of the named firms: the going price of the market (and of the fringe)."""
    total = sum(shares)
    return sum(p * s for p, s in zip(prices, shares, strict=True)) / total


@dataclass(frozen=True)
class Demand:
    """Calibrated demand for firms [us, rivals..., fringe?]; per-path arrays have the paths on the last axis.

    alpha: (F, P) price coefficients per $ of deflated price; a: (F, P) brand constants (quality excluded);
    start_shares (F,); start_prices (F,); kappa: (P,) market expansion per unit of inclusive value.
    """

    alpha: np.ndarray
    a: np.ndarray
    start_shares: np.ndarray
    start_prices: np.ndarray
    kappa: np.ndarray
    has_fringe: bool

    @property
    def fringe_share_fraction(self) -> float:
        return float(self.start_shares[-1]) if self.has_fringe else 0.0

    def own_price_elasticity_at_start(self) -> np.ndarray:
        """d ln s_j / d ln p_j at the start prices, total market held: -alpha_j p_j0 (1 - s_j0); (F, P)."""
        out: np.ndarray = -self.alpha * self.start_prices[:, None] * (1.0 - self.start_shares[:, None])
        return out

    def shares(self, prices: np.ndarray, deflator: float = 1.0) -> np.ndarray:
        """Logit shares of the F firms at `prices` (F, P) in month money (deflator D(t)); sum to 1."""
        u = self.a - self.alpha * prices / deflator
        u -= u.max(axis=0, keepdims=True)
        w = np.exp(u)
        out: np.ndarray = w / w.sum(axis=0, keepdims=True)
        return out

    def volume_factor(self, prices: np.ndarray, deflator: float = 1.0) -> np.ndarray:
        """Q / (Q0 growth) = exp(kappa IV), (P,)."""
        u = self.a - self.alpha * prices / deflator
        top = u.max(axis=0)
        iv = top + np.log(np.exp(u - top).sum(axis=0))
        out: np.ndarray = np.exp(self.kappa * iv)
        return out


def calibrate(
    own_prices: list[float],
    own_shares: list[float],
    switching_elasticity: np.ndarray | float,
    market_elasticity: np.ndarray | float,
) -> Demand:
    """Calibrate on the market: firms' start prices and shares (ours first), the fringe added when shares
    add up to less than 1. The elasticities may be per path (arrays) or single numbers."""
    e_s = np.atleast_1d(np.asarray(switching_elasticity, dtype=float))
    e_m = np.atleast_1d(np.asarray(market_elasticity, dtype=float))
    fringe = fringe_share_fraction(own_shares)
    prices = list(own_prices)
    shares = list(own_shares)
    if fringe > 0:
        prices.append(reference_price_usd_per_million_tokens(own_prices, own_shares))
        shares.append(fringe)
    p0 = np.asarray(prices, dtype=float)
    s0 = np.asarray(shares, dtype=float)
    s0 = s0 / s0.sum()
    ref = reference_price_usd_per_million_tokens(own_prices, own_shares)
    scale = np.where(p0 > 0, p0, ref if ref > 0 else 1.0)  # a firm free today: the market's going price
    one_minus = np.where(s0 < 1.0, 1.0 - s0, 1.0)  # a monopolist: nobody to switch to, any scale works
    semi = np.minimum(-e_s[None, :] / one_minus[:, None], MAX_PRICE_SEMI_ELASTICITY)  # alpha_j p_j0, (F, P)
    alpha = semi / scale[:, None]
    a = np.log(s0)[:, None] + alpha * p0[:, None]
    eta = (s0[:, None] * semi).sum(axis=0)
    kappa = np.broadcast_to(-e_m / eta, e_s.shape if e_s.size >= e_m.size else e_m.shape).copy()
    return Demand(alpha, a, s0, p0, kappa, fringe > 0)


def expansion_ratio(
    own_prices: list[float], own_shares: list[float], switching_elasticity: float, market_elasticity: float
) -> float:
    """kappa = -e_m / eta for single values: at most 1 for a consistent model (see the module docstring)."""
    d = calibrate(own_prices, own_shares, switching_elasticity, market_elasticity)
    return float(d.kappa[0])


def best_response_price(
    cost: np.ndarray,
    alpha: np.ndarray,
    a_own: np.ndarray,
    others_weight: np.ndarray | float,
    kappa: np.ndarray,
    deflator: np.ndarray | float,
    start: np.ndarray | None = None,
    steps: int = NEWTON_STEPS,
) -> np.ndarray:
    """The price maximising (p - c) Q(p) s(p) against the other firms' logit weights (exp of their
    utilities, same scale as exp(a_own)): the root of p = c + D / (alpha (1 - (1 - kappa) s(p))), found by
    Newton's method (the left side minus the right is increasing in p, so the root is unique). `start`, a
    nearby root (last month's), lets fewer steps reach the same precision."""
    unit = deflator / alpha  # D / alpha: the markup of a firm too small to move the market
    per_unit = alpha / deflator
    lowest = cost + unit
    p = lowest if start is None else np.maximum(start, lowest)
    one_minus_kappa = 1.0 - kappa
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        for _ in range(steps):
            w = np.exp(a_own - p * per_unit)
            s = w / (w + others_weight)
            if not np.all(np.isfinite(s)):  # nobody else and a vanishing weight: the whole market
                s = np.where(np.isfinite(s), s, 1.0)
            g = np.maximum(1.0 - one_minus_kappa * s, MIN_ELASTIC_FRACTION)
            f = p - lowest - unit / g + unit
            slope = 1.0 + one_minus_kappa * s * (1.0 - s) / (g * g)
            p = np.maximum(p - f / slope, lowest)
    return p
