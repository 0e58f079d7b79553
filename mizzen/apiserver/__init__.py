"""Mizzen apiserver layer."""
