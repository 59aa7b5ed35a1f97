"""`python -m eigendsl`: the `eigendsl` command, as `accelerate launch -m eigendsl train ...` runs it."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="eigendsl")
