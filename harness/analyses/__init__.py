"""Analyses built on runs and studies: per-digit difficulty and the course reports' claims."""
