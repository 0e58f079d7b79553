"""Mizzen delivery layer."""
