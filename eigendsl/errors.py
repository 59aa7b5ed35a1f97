"""Exceptions that tool bodies raise at run time; both end the call and roll it back."""


class ToolFailure(Exception):
    """`fail "message"` in a tool body: the caller gets the message as an error."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class EigRuntimeError(ToolFailure):
    """An error the language runtime detected (missing key, division by zero, bad number)."""
