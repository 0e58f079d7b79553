"""Mizzen cluster layer."""
