"""`python -m pipelines.cli`: the `symetrisk` command."""

from pipelines.cli import console

console()
