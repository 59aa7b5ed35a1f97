"""Episodes: the agent ⇄ user ⇄ tools protocol, agents, simulated users, fidelity monitoring."""
