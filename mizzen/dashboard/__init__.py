"""Mizzen dashboard layer."""
