"""Mizzen workloads layer."""
