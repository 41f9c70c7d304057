"""Federation's Prometheus metrics: inbox activities, deliveries, consent checks and prompt
refusals. Labels take values from short fixed sets (an activity type outside ACTIVITY_TYPES
counts as "other"), so that a peer cannot grow the number of series.

In multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by the `likeness` command before this is
imported) each process writes its counts to files there, summed at every scrape."""

from __future__ import annotations

import functools

from prometheus_client import Counter

from .vocab import ACTIVITY_TYPES

INBOX_RECEIVED = Counter("likeness_inbox_received_total",
                         "Activities POSTed to an inbox, by type and outcome (accepted, duplicate, ignored,"
                         " refused)", ["type", "outcome"])
INBOX_HANDLED = Counter("likeness_inbox_handled_total",
                        "Stored inbox activities handled by a worker, by type and outcome (done, ignored,"
                        " retry, failed, gone)", ["type", "outcome"])
DELIVERIES = Counter("likeness_deliveries_total",
                     "Delivery attempts to other servers, by outcome (done, retry, failed, skipped, not due)",
                     ["outcome"])
CONSENT_CHECKS = Counter("likeness_consent_checks_total",
                         "Consent checks, by kind (remix_request: a cameo's rules decide; authorization:"
                         " a signed authorization is verified) and result", ["check", "result"])
POLICY_REFUSALS = Counter("likeness_policy_refusals_total",
                          "Prompts the prompt policy refused, by category and where they came from",
                          ["category", "source"])
POLICY_HELD = Counter("likeness_policy_held_total",
                      "Prompts held because a prompt-policy layer could not judge them (a moderation"
                      " endpoint down, a model that cannot load), by rule and where they came from",
                      ["rule", "source"])


def activity_type(kind: object) -> str:
    """The type label of an activity: one of ours, or "other"."""
    return kind if isinstance(kind, str) and kind in ACTIVITY_TYPES else "other"


@functools.lru_cache(maxsize=256)
def inbox_received(kind: str, outcome: str) -> Counter:
    """The INBOX_RECEIVED child of a type label and outcome, looked up once: `labels()` takes a
    lock and builds a key on every call, and the inbox counts every POST. Both labels come from
    short fixed sets."""
    return INBOX_RECEIVED.labels(kind, outcome)
