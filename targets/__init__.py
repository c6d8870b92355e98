"""Export targets: what to export, from where, with which credential, how often and how patiently."""

from targets.loader import TargetsError, load_targets, parse_targets
from targets.model import Target

__all__ = ["Target", "TargetsError", "load_targets", "parse_targets"]
