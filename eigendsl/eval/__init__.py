"""Evaluation of agents on compiled domains: pass^k over trials, resumable result files."""
