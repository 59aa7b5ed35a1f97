"""eigendsl: declarative, compiled tool-use environments with verifiable rewards."""

__version__ = "0.1.0"
