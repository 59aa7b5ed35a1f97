"""Offline reflection: re-weight plans by the yield they will have next, retire spent plans.

A plan's weight for the next round is the yield it is expected to have there, the product of
three rates learnt from every round so far: how often its writer produces a draft, how often a
draft is new, and how often a new draft passes verification. The middle one falls as a plan's
targets run out, so it is estimated from the plan's history rather than carried over: the
drafts a plan writes are taken as draws from a pool of distinct tasks, whose size follows from
how many distinct tasks it has drawn so far (a capture-recapture estimate), and the share of
that pool still unseen is the chance that its next draft is new. A plan whose expected yield is
below the floor (because it fails to write or verify, or because its pool is spent) is retired;
weights are times a bonus when the plan's tasks' pass rate lies in the target difficulty band.
Operator weights (the yield of every plan using the operator last round) seed plans not
attempted yet, such as new plans from a model planner. Apart from the yield, a plan's draws
are scaled by a quality factor (`quality_weights`): its kept tasks' scenarios read in tool
language, hold ids customers lack, repeat earlier ones once masked, or carry labels the guards
contradict, and a plan whose tasks do that more is drawn less. Each update is returned with the
evidence that caused it, for report.json.
"""

from __future__ import annotations

import math

FLOOR = 0.1
MIN_ATTEMPTS = 6
BAND = (0.2, 0.8)
BAND_BONUS = 1.5
GROUPS = ("multi", "refusal", "single")
# Shares of the kept set that steering the groups' draft shares must hold: the coverage bars of
# the synthesis issue (0.30 multi-write, 0.10 refusal or transfer) with a margin.
FLOORS = {"multi_write": 0.35, "refusal": 0.15}


def smoothed(kept: int, attempted: int) -> float:
    return (kept + 0.5) / (attempted + 1.0)


def pool_size(drawn: int, distinct: int) -> float:
    """The size N of a pool from which `drawn` uniform draws gave `distinct` different items,
    solving distinct = N (1 - exp(-drawn / N)); infinite when nothing repeated."""
    if distinct >= drawn:
        return math.inf
    if distinct <= 0:
        return 0.0
    lo, hi = float(distinct), float(distinct)
    while hi * -math.expm1(-drawn / hi) < distinct:
        hi *= 2.0
    for _ in range(60):
        mid = (lo + hi) / 2.0
        if mid * -math.expm1(-drawn / mid) < distinct:
            lo = mid
        else:
            hi = mid
    return hi


def history(rounds: list[dict[str, dict]]) -> dict[str, dict]:
    """Each plan's counts summed over rounds: attempted, kept (multi-write, refusals), duplicates,
    writer rejections."""
    out: dict[str, dict] = {}
    for stats in rounds:
        for pid, s in stats.items():
            h = out.setdefault(pid, {"attempted": 0, "kept": 0, "duplicate": 0, "writer": 0, "rejections": {}})
            for n in ("attempted", "kept", *FLOORS):
                h[n] = h.get(n, 0) + s.get(n, 0)
            for reason, n in s.get("rejections", {}).items():
                h["rejections"][reason] = h["rejections"].get(reason, 0) + n
                if reason == "duplicate":
                    h["duplicate"] += n
                elif reason.startswith("writer"):
                    h["writer"] += n
    return out


def expected_yield(h: dict, draws: float = 0.0) -> tuple[float, float, dict]:
    """A plan's yield on its next draft, and averaged over its next `draws` drafts (its pool
    shrinks as they find new tasks), with the rates they are made of."""
    a, k = h["attempted"], h["kept"]
    written = a - h["writer"]
    distinct = written - h["duplicate"]
    pool = pool_size(written, distinct)
    # a pool of size 0: not one written draft was new (a model writer that answers the same
    # task every time, say), so none of the next ones will be either
    novel = 1.0 if math.isinf(pool) else (max(0.0, 1.0 - distinct / pool) if pool > 0 else 0.0)
    ahead = novel if math.isinf(pool) or draws <= 0 or pool <= 0 else novel * -math.expm1(-draws / pool) / (draws / pool)
    rates = {"writes": round(smoothed(written, a), 3), "new": round(novel, 3), "verifies": round(smoothed(k, distinct), 3)}
    if not math.isinf(pool):
        rates["pool"] = round(pool, 1)
    if draws > 0:
        rates.update({"draws_ahead": round(draws, 1), "new_over_them": round(ahead, 3)})
    rate = smoothed(written, a) * smoothed(k, distinct)
    return rate * novel, rate * ahead, rates


def reflect(rounds: list[dict[str, dict]], weights: dict[str, float], retired: list[str],
            plan_ops: dict[str, str], draws: dict[str, float] | None = None) -> tuple[dict, list, list[dict], dict]:
    """rounds: per round so far, plan id -> {attempted, kept, rejections, passed, rolled}, the
    last being the round just finished; draws: the drafts each plan is expected to get next
    round, where known. Returns (weights, retired, updates, operator weights)."""
    weights, retired, updates = dict(weights), list(retired), []
    last = rounds[-1] if rounds else {}
    totals = history(rounds)
    by_op: dict[str, list[int]] = {}
    for pid in sorted(last):
        s = last[pid]
        a, k = s.get("attempted", 0), s.get("kept", 0)
        if not a:
            continue
        agg = by_op.setdefault(plan_ops.get(pid, "?"), [0, 0])
        agg[0] += k
        agg[1] += a
        h = totals[pid]
        now, new, rates = expected_yield(h, (draws or {}).get(pid, 0.0))
        top = sorted(h["rejections"].items(), key=lambda kv: -kv[1])[:3]
        evidence = {"attempted": a, "kept": k, "yield": round(k / a, 3), "so_far": {"attempted": h["attempted"], "kept": h["kept"]},
                    **rates, "rejections": dict(top)}
        rolled = s.get("rolled", 0)
        pass_rate = s.get("passed", 0) / rolled if rolled else None
        if pass_rate is not None:
            evidence["pass_rate"] = round(pass_rate, 3)
        if h["attempted"] >= MIN_ATTEMPTS and now < FLOOR and pid not in retired:
            retired.append(pid)
            why = "its pool of tasks is spent" if rates["new"] < FLOOR <= rates["writes"] * rates["verifies"] else "it fails to write or verify"
            updates.append({"plan": pid, "action": "retire", "because": f"expected yield {now:.3f} below the floor {FLOOR}: {why}",
                            "evidence": evidence})
            continue
        if pass_rate is not None and BAND[0] <= pass_rate <= BAND[1]:
            new *= BAND_BONUS
        old = weights.get(pid, 1.0)
        weights[pid] = round(new, 4)
        if abs(new - old) > 1e-9:
            updates.append({"plan": pid, "action": "reweight", "from": round(old, 4), "to": round(new, 4),
                            "because": "expected yield" + (" in the difficulty band" if pass_rate is not None and BAND[0] <= pass_rate <= BAND[1] else ""),
                            "evidence": evidence})
    op_weights = {op: round(smoothed(k, a), 4) for op, (k, a) in sorted(by_op.items())}
    for op, w in op_weights.items():
        updates.append({"operator": op, "action": "operator_weight", "to": w, "evidence": {"kept": by_op[op][0], "attempted": by_op[op][1]}})
    return weights, retired, updates, op_weights


def steer_shares(configured: dict[str, float], yields: dict[str, float], makes: dict[str, dict[str, float]],
                 so_far: dict[str, int], kept: int, target: int) -> tuple[dict[str, float], dict]:
    """The next round's draft share of each group: its configured share times its expected yield,
    moved back toward the configured shares just as far as the kept set needs to keep FLOORS of
    multi-write and refusal tasks, projected from each group's yield and what its kept tasks are.

    yields: group -> expected yield of its next draft (groups with no plan left are absent);
    makes: group -> kept tasks of each FLOORS kind per kept task; so_far: kept tasks of each
    kind among `kept`; target: the tasks the next round aims to keep. Returns (shares, update).
    """
    groups = [g for g in GROUPS if configured.get(g, 0.0) > 0 and g in yields] or [g for g in GROUPS if g in yields]

    def normal(v: dict[str, float]) -> dict[str, float]:
        total = sum(v.values())
        return {g: x / total for g, x in v.items()} if total > 0 else {g: 1.0 / len(v) for g in v}

    base = normal({g: configured.get(g, 0.0) for g in groups})
    steered = normal({g: base[g] * yields[g] for g in groups})

    def mix(lam: float) -> dict[str, float]:
        return {g: (1 - lam) * steered[g] + lam * base[g] for g in groups}

    def projected(shares: dict[str, float]) -> dict[str, float]:
        per_draft = sum(shares[g] * yields[g] for g in groups) or 1e-9
        return {k: (so_far.get(k, 0) + target * sum(shares[g] * yields[g] * makes[g][k] for g in groups) / per_draft)
                / max(1, kept + target) for k in FLOORS}

    def holds(lam: float) -> bool:
        p = projected(mix(lam))
        return all(p[k] >= FLOORS[k] for k in FLOORS)

    lo, hi = 0.0, 1.0
    if holds(0.0):
        hi, because = 0.0, "draft shares follow the groups' expected yields"
    elif not holds(1.0):
        because = "draft shares stay as configured: even so the projected kept set falls short of its floors"
    else:
        for _ in range(30):
            lo, hi = (lo, (lo + hi) / 2) if holds((lo + hi) / 2) else ((lo + hi) / 2, hi)
        because = (f"draft shares follow the groups' expected yields, held back {hi:.2f} of the way to the configured"
                   " shares so the kept set keeps its floors")
    shares = mix(hi)
    update = {"action": "shares", "from": {g: round(base[g], 4) for g in groups}, "to": {g: round(shares[g], 4) for g in groups},
              "because": because,
              "evidence": {"expected_yield": {g: round(yields[g], 3) for g in groups},
                           "projected": {k: round(v, 3) for k, v in projected(shares).items()}, "floors": FLOORS,
                           "kept": kept, "so_far": so_far, "next_target": target}}
    return shares, update


def group_rates(totals: dict[str, dict], group: dict[str, str]) -> dict[str, dict[str, float]]:
    """For each group, its kept tasks of each FLOORS kind per kept task (its own kind when none kept)."""
    out = {}
    for g in GROUPS:
        hs = [h for pid, h in totals.items() if group.get(pid) == g]
        kept = sum(h["kept"] for h in hs)
        prior = {"multi_write": float(g == "multi"), "refusal": float(g == "refusal")}
        out[g] = {k: sum(h[k] for h in hs) / kept if kept else prior[k] for k in FLOORS}
    return out


# What a plan's kept tasks are charged with (synth/quality.py), each a share of its kept tasks;
# the plan's draw weight is times 1 minus their mean, at least QUALITY_FLOOR.
QUALITY_FLAGS = ("tool_language", "foreign_ids", "repeats", "label_disagrees")
QUALITY_FLOOR = 0.2


def quality_weights(rounds: list[dict[str, dict]], factors: dict[str, float]) -> tuple[dict[str, float], list[dict]]:
    """Each plan's quality factor from its kept tasks so far: 1 - the mean of the shares of them
    in tool language, holding ids customers lack, repeating an earlier scenario once masked, and
    labelled against the guards (each share smoothed as flagged / (kept + 1), so one task does
    not condemn a plan), at least QUALITY_FLOOR. Yield alone cannot see these: a templated task
    verifies as well as any. Returns the factors and an update, with its evidence, per change."""
    factors, updates = dict(factors), []
    totals: dict[str, dict[str, int]] = {}
    for stats in rounds:
        for pid, s in stats.items():
            t = totals.setdefault(pid, {"kept": 0, **{f: 0 for f in QUALITY_FLAGS}})
            t["kept"] += s.get("kept", 0)
            for f in QUALITY_FLAGS:
                t[f] += s.get("quality", {}).get(f, 0)
    for pid in sorted(totals):
        t = totals[pid]
        if not t["kept"]:
            continue
        shares = {f: t[f] / (t["kept"] + 1) for f in QUALITY_FLAGS}
        new = round(max(QUALITY_FLOOR, 1.0 - sum(shares.values()) / len(shares)), 4)
        old = factors.get(pid, 1.0)
        factors[pid] = new
        if abs(new - old) > 1e-9:
            worst = max(shares, key=lambda f: shares[f])
            updates.append({"plan": pid, "action": "quality", "from": old, "to": new,
                            "because": f"its kept tasks' scenarios, worst {worst.replace('_', ' ')} ({t[worst]} of {t['kept']})",
                            "evidence": {"kept": t["kept"], **{f: t[f] for f in QUALITY_FLAGS}}})
    return factors, updates
