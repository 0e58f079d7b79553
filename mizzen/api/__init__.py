"""Mizzen api layer."""
