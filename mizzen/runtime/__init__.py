"""Mizzen runtime layer."""
