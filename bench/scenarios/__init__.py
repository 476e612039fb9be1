"""The benchmark's scenarios; each returns a list of `bench.stats.Figure`."""
