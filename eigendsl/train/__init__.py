"""Training: SFT of the agent and of the user model, then GRPO on real episodes (needs the train extra)."""
