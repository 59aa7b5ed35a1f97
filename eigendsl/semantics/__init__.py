"""Name resolution, type checking and lowering of the AST to the typed IR, as a sequence of passes.

The entry point is `semantics.check` (`check(modules, sink)` and `Checker`); it is not imported
here because `ir` imports `semantics.types`.
"""
