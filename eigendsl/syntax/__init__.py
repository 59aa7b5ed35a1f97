"""Source text to AST: spans, diagnostics, the Lark parser and the AST node classes."""
