"""`python -m simulator` is the `flashsim` command."""

from simulator.cli import main

main(prog_name="flashsim")
