"""Measurements of trained models and their samples."""
