"""The rule registry: one rule per module, listed here in id order."""

from __future__ import annotations

from policies.rules.base import Finding, Options, Rule, Severity, Target, documentation
from policies.rules.dr001_deregistration_delay_shorter_than_requests import (
    DeregistrationDelayShorterThanRequests,
)
from policies.rules.ka001_keepalive_not_longer_than_idle_timeout import KeepaliveNotLongerThanIdleTimeout
from policies.rules.ka002_keepalive_unknown import KeepaliveUnknown

RULES: tuple[Rule, ...] = (
    KeepaliveNotLongerThanIdleTimeout(),
    KeepaliveUnknown(),
    DeregistrationDelayShorterThanRequests(),
)

__all__ = ["RULES", "Finding", "Options", "Rule", "Severity", "Target", "documentation"]
