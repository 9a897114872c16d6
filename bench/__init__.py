"""Benchmarks: load throughput against the sandbox and model build time at portfolio scale."""
