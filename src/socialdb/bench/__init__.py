"""The benchmark: `socialdb bench generate` and `socialdb bench run` (optional extra `bench`)."""

from collections.abc import Callable

# How the benchmark tells what it is doing: one line at a time (the CLI prints them).
Say = Callable[[str], None]
