"""Offline reflection: re-weight plans and operators by yield and difficulty, retire low-yield plans.

A plan's weight for the next round is its smoothed yield (kept / attempted) in this round,
times a bonus when its tasks' pass rate lies in the target difficulty band; a plan attempted
often enough whose yield is below the floor is retired. Operator weights (the yield of every
plan using the operator) seed plans not attempted yet, such as new plans from a model
planner. Each update is returned with the evidence that caused it, for report.json.
"""

from __future__ import annotations

FLOOR = 0.1
MIN_ATTEMPTS = 6
BAND = (0.2, 0.8)
BAND_BONUS = 1.5


def smoothed(kept: int, attempted: int) -> float:
    return (kept + 0.5) / (attempted + 1.0)


def reflect(stats: dict[str, dict], weights: dict[str, float], retired: list[str], plan_ops: dict[str, str]) -> tuple[dict, list, list[dict], dict]:
    """stats: plan id -> {attempted, kept, passed, rolled}; returns (weights, retired, updates, operator weights)."""
    weights, retired, updates = dict(weights), list(retired), []
    by_op: dict[str, list[int]] = {}
    for pid in sorted(stats):
        s = stats[pid]
        a, k = s.get("attempted", 0), s.get("kept", 0)
        if not a:
            continue
        agg = by_op.setdefault(plan_ops.get(pid, "?"), [0, 0])
        agg[0] += k
        agg[1] += a
        evidence = {"attempted": a, "kept": k, "yield": round(k / a, 3)}
        rolled = s.get("rolled", 0)
        pass_rate = s.get("passed", 0) / rolled if rolled else None
        if pass_rate is not None:
            evidence["pass_rate"] = round(pass_rate, 3)
        if a >= MIN_ATTEMPTS and k / a < FLOOR and pid not in retired:
            retired.append(pid)
            updates.append({"plan": pid, "action": "retire", "because": f"yield {k}/{a} below the floor {FLOOR}", "evidence": evidence})
            continue
        new = smoothed(k, a)
        if pass_rate is not None and BAND[0] <= pass_rate <= BAND[1]:
            new *= BAND_BONUS
        old = weights.get(pid, 1.0)
        weights[pid] = round(new, 4)
        if abs(new - old) > 1e-9:
            updates.append({"plan": pid, "action": "reweight", "from": round(old, 4), "to": round(new, 4),
                            "because": "yield" + (" in the difficulty band" if new != smoothed(k, a) else ""), "evidence": evidence})
    op_weights = {op: round(smoothed(k, a), 4) for op, (k, a) in sorted(by_op.items())}
    for op, w in op_weights.items():
        updates.append({"operator": op, "action": "operator_weight", "to": w, "evidence": {"kept": by_op[op][0], "attempted": by_op[op][1]}})
    return weights, retired, updates, op_weights
