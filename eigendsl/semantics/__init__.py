"""Name resolution, type checking and lowering of the AST to the typed IR."""
