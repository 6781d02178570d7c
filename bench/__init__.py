"""The benchmarks (not a test suite); see bench/common.py for what they share."""
