"""`eigendsl report`: one self-contained static HTML page for an eval, synthesis or training run."""
