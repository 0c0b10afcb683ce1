"""Probes: one-off measurements behind docs/performance.md, run by hand after `socialdb bench generate`."""
