"""Mizzen cli layer."""
