"""Entanglement purification cost g(F, F_th) by iterated recurrence purification.

Conventions
-----------
* A Werner pair of fidelity F is the Bell-diagonal state with coefficients
  ``(A, B, C, D) = (F, (1-F)/3, (1-F)/3, (1-F)/3)`` in the order (Φ+, Ψ-, Ψ+, Φ-).
* **BBPSSW** (Bennett, Brassard, Popescu, Schumacher, Smolin, Wootters, PRL 76, 722 (1996)):
  two Werner pairs of fidelity F, bilateral CNOT, measure the target pair, keep on coincidence,
  twirl back to Werner form::

      p  = F^2 + 2F(1-F)/3 + 5((1-F)/3)^2
      F' = (F^2 + ((1-F)/3)^2) / p

* **DEJMPS** (Deutsch, Ekert, Jozsa, Macchiavello, Popescu, Sanpera, PRL 77, 2818 (1996)):
  bilateral ±π/2 X rotations, bilateral CNOT, keep on coincidence, no twirl, acting on the
  Bell-diagonal coefficients (Φ+, Ψ-, Ψ+, Φ-)::

      N  = (A + B)^2 + (C + D)^2                 (success probability)
      A' = (A^2 + B^2)/N,  B' = 2CD/N,  C' = (C^2 + D^2)/N,  D' = 2AB/N

  For a Werner input one DEJMPS round equals one BBPSSW round; later rounds differ (DEJMPS keeps
  the non-Werner diagonal and converges faster).
* **Cost.** A round consumes two pairs and succeeds with probability p, so the expected number of
  base pairs per output pair after r rounds is ``g = prod_i (2 / p_i)`` (the usual recurrence
  count, e.g. Dür & Briegel, Rep. Prog. Phys. 70, 1381 (2007)); ``g = 1`` when ``F >= F_th``.
* **Unreachable thresholds.** Recurrence purification of a Werner pair can only improve a pair
  with F > 1/2 and never reaches F = 1 exactly. When ``F <= 1/2``, ``F_th >= 1``, or the
  threshold is not reached within ``max_rounds`` rounds, :func:`purification_cost` returns
  ``math.inf`` (the path is then reported as having no feasible purification; it never loops).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from routing._checks import is_count

PROTOCOLS = ("dejmps", "bbpssw")
MAX_ROUNDS_DEFAULT = 30


def werner_coefficients(fidelity: float) -> tuple[float, float, float, float]:
    """Bell-diagonal coefficients (Φ+, Ψ-, Ψ+, Φ-) of a Werner pair of fidelity F."""
    _check_fidelity("fidelity", fidelity)
    r = (1.0 - fidelity) / 3.0
    return (fidelity, r, r, r)


def bbpssw_round(fidelity: float) -> tuple[float, float]:
    """One BBPSSW round on two Werner pairs of fidelity F: returns (F', success probability)."""
    _check_fidelity("fidelity", fidelity)
    f = fidelity
    r = (1.0 - f) / 3.0
    p = f * f + 2.0 * f * r + 5.0 * r * r
    return (f * f + r * r) / p, p


def dejmps_round(
    coeffs: tuple[float, float, float, float],
) -> tuple[tuple[float, float, float, float], float]:
    """One DEJMPS round on two copies of a Bell-diagonal state (Φ+, Ψ-, Ψ+, Φ-).

    Returns the output coefficients and the success probability N.
    """
    a, b, c, d = (float(x) for x in coeffs)
    if min(a, b, c, d) < -1e-12 or abs(a + b + c + d - 1.0) > 1e-9:
        raise ValueError(
            f"coeffs = {coeffs!r} is invalid; accepted: four non-negative Bell-diagonal "
            "weights summing to 1"
        )
    n = (a + b) ** 2 + (c + d) ** 2
    return ((a * a + b * b) / n, 2.0 * c * d / n, (c * c + d * d) / n, 2.0 * a * b / n), n


@dataclass(frozen=True)
class PurificationResult:
    """Outcome of purifying base pairs of fidelity ``fidelity`` up to ``threshold``.

    ``cost`` is g (expected base pairs per output pair; ``inf`` when unreachable), ``rounds`` the
    number of recurrence rounds, ``success_probabilities`` one per round, ``final_fidelity`` the
    fidelity reached, ``reason`` a sentence when the threshold is unreachable (else "").
    """

    fidelity: float
    threshold: float
    protocol: str
    cost: float
    rounds: int
    success_probabilities: tuple[float, ...]
    final_fidelity: float
    reason: str = ""

    @property
    def reachable(self) -> bool:
        return math.isfinite(self.cost)


def purify(
    fidelity: float,
    threshold: float,
    protocol: str = "dejmps",
    max_rounds: int = MAX_ROUNDS_DEFAULT,
) -> PurificationResult:
    """Iterate ``protocol`` rounds from Werner pairs of ``fidelity`` until ``threshold`` is met.

    Returns a :class:`PurificationResult`; an unreachable threshold gives ``cost = inf`` with the
    reason, never an endless loop (at most ``max_rounds`` rounds are tried).
    """
    _check_fidelity("fidelity", fidelity)
    _check_fidelity("threshold", threshold)
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol = {protocol!r} is invalid; accepted: one of {list(PROTOCOLS)}")
    if not (is_count(max_rounds) and max_rounds >= 0):
        raise ValueError(f"max_rounds = {max_rounds!r} is invalid; accepted: integer >= 0")

    def result(cost, probs, f_end, reason=""):
        return PurificationResult(
            float(fidelity), float(threshold), protocol, cost, len(probs), tuple(probs),
            float(f_end), reason,
        )

    if fidelity >= threshold:
        return result(1.0, [], fidelity)
    if threshold >= 1.0:
        return result(math.inf, [], fidelity,
                      "F_th = 1 cannot be reached by recurrence purification")
    if fidelity <= 0.5:
        return result(math.inf, [], fidelity,
                      f"F = {fidelity:.6g} <= 1/2: recurrence purification cannot improve it")
    coeffs = werner_coefficients(fidelity)
    f = fidelity
    probs: list[float] = []
    cost = 1.0
    for _ in range(max_rounds):
        if protocol == "bbpssw":
            f, p = bbpssw_round(f)
        else:
            coeffs, p = dejmps_round(coeffs)
            f = coeffs[0]
        probs.append(p)
        cost *= 2.0 / p
        if f >= threshold:
            return result(cost, probs, f)
    return result(math.inf, probs, f,
                  f"F_th = {threshold:.6g} not reached in {max_rounds} rounds (F = {f:.6g})")


def purification_cost(
    fidelity: float, threshold: float, protocol: str = "dejmps",
    max_rounds: int = MAX_ROUNDS_DEFAULT,
) -> float:
    """g(F, F_th): expected base pairs per purified pair (``inf`` when unreachable)."""
    return purify(fidelity, threshold, protocol, max_rounds).cost


def werner_parameter(fidelity: float) -> float:
    """w = (4F - 1)/3, the depolarizing parameter of a Werner pair (DESIGN section 3); F in
    [1/4, 1] (else ``ValueError``: 1.5 gave w = 1.67, a "pair" better than perfect)."""
    _check_fidelity("fidelity", fidelity)
    return (4.0 * fidelity - 1.0) / 3.0


def path_fidelity(link_fidelities) -> float:
    """Werner rule over a path: F = 1/4 + 3/4 prod_e (4F_e - 1)/3 (swapping Werner pairs)."""
    w = 1.0
    n = 0
    for fe in link_fidelities:
        _check_fidelity("link fidelity", fe)
        w *= (4.0 * fe - 1.0) / 3.0  # werner_parameter, checked once (a hot path)
        n += 1
    if n == 0:
        raise ValueError("link_fidelities = [] is invalid; accepted: at least one link")
    return 0.25 + 0.75 * w


def _check_fidelity(name: str, value: float) -> None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and 0.25 <= v <= 1.0):
        raise ValueError(f"{name} = {value!r} is invalid; accepted: a fidelity in [0.25, 1]")
