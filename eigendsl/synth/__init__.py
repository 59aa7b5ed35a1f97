"""The self-evolving task synthesiser: plans, writers, verification, rollouts, reflection."""
