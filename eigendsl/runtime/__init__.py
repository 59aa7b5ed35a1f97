"""Executing compiled domains: copy-on-write state, the interpreter, environments and traces."""
