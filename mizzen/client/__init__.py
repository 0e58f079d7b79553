"""Mizzen client layer."""
