"""Doors to other stacks: Gymnasium, MCP, verifiers and TRL, each on the public API (eigendsl.api) and each needing its extra (adapters, verifiers, train)."""
