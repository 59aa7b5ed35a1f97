"""The policy document an agent reads: the domain's introduction and each policy's words."""

from __future__ import annotations

from .. import ir


def render_policy(domain: ir.Domain) -> str:
    lines = [f"# {domain.title}: policy", ""]
    intro = domain.settings.get("intro")
    if intro:
        lines += [intro.strip(), ""]
    for policy in domain.policies:
        lines += [f"## {policy.name.replace('_', ' ').capitalize()}", "", policy.text.strip(), ""]
    return "\n".join(lines).rstrip() + "\n"
