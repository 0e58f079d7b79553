"""Mizzen fleet layer."""
