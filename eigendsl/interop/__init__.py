"""Interoperation with tau2-bench: its task files, replay into its record format, conformance."""
