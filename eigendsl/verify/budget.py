"""Bounds on solver work: z3 resource units (rlimit) per query and per analysed file.

Z3's resource counter advances deterministically with the work a query does, so an answer
under an rlimit does not depend on machine load, unlike a wall-clock timeout. A query that
runs out of units is "unknown", and the analysis that asked it reports "not analysed" at the
span of what it was analysing. A generous wall-clock limit stays as a backstop for solver
paths that seldom count resources; in normal operation the rlimit is always reached first.

About 10 million units are one second of solver time on a current CPU core.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import z3

QUERY_RLIMIT = 50_000_000  # one question: about five seconds (the costliest shipped guard set needs 12 million)
FILE_RLIMIT = 250_000_000  # everything one `check` or `compile` asks: about twenty-five seconds
WALL_BACKSTOP_MS = 60_000
SPENT = "the solver's budget ran out"
FILE_SPENT = "the file's solver budget is spent"


def rlimit_count(s: z3.Solver) -> int:
    """The context's resource counter (it only grows; a query's cost is the difference)."""
    stats = s.statistics()
    return int(stats.get_key_value("rlimit count")) if "rlimit count" in stats.keys() else 0


@dataclass
class SolverBudget:
    """What one run of the analyses may spend: `per_query` units a question, `per_file` in all."""

    per_query: int = field(default_factory=lambda: QUERY_RLIMIT)
    per_file: int = field(default_factory=lambda: FILE_RLIMIT)
    spent: int = 0
    queries: int = 0
    out_of_budget: int = 0  # queries answered "unknown" for want of units

    def solver(self) -> z3.Solver:
        s = z3.Solver()
        s.set("timeout", WALL_BACKSTOP_MS)
        return s

    def check(self, s: z3.Solver, *assumptions) -> tuple[z3.CheckSatResult, str | None]:
        """(result, why unknown or None); never spends more than the budget has left."""
        left = self.per_file - self.spent
        if left <= 0 or self.per_query <= 0:  # (z3 reads an rlimit of 0 as no limit)
            self.out_of_budget += 1
            return z3.unknown, FILE_SPENT
        limit = min(self.per_query, left)
        s.set("rlimit", limit)
        before = rlimit_count(s)
        result = s.check(*assumptions)
        used = max(0, rlimit_count(s) - before)
        self.spent += used
        self.queries += 1
        if result != z3.unknown:
            return result, None
        reason = s.reason_unknown()
        if used >= limit or reason == "max. resource limit exceeded":
            self.out_of_budget += 1
            reason = SPENT if limit == self.per_query else FILE_SPENT
        elif reason in ("canceled", "timeout"):
            reason = "the solver's time limit ran out"
        return result, reason

    def to_json(self) -> dict:
        return {"per_query": self.per_query, "per_file": self.per_file, "spent": self.spent,
                "queries": self.queries, "out_of_budget": self.out_of_budget}
