"""Benchmarks: run by `make bench`, never collected by pytest (see `norecursedirs` in pyproject.toml)."""
