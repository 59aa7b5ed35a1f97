"""Name resolution, type checking and lowering of the AST to the typed IR, as a sequence of passes.

The entry point is `semantics.check` (`check(modules, sink)` and `Checker`). The type algebra the
passes share with the IR and the runtime lives below them, in `eigendsl.types`.
"""
