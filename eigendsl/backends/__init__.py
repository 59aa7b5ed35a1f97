"""Passes over the typed IR that produce artefacts: tool schemas, the policy document, the compiled folder."""
