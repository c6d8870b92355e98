"""Durable Functions orchestrators: deterministic decisions only, no I/O."""
