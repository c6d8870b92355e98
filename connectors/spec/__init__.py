"""Connectors as data: the spec grammar, its loader and checks, templates, paths, named hooks, and the engine."""
