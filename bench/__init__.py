"""Benchmarks that print figures. Run with `make bench`; nothing here asserts a time."""
