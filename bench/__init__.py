"""Benchmarks: a synthetic data set at scale, and scenarios measured against their floors.

Not part of the test suite: these print figures and never assert on time.
"""
