"""The data-processing policy layer: find personal data and secrets, then allow,
pseudonymize or block. Plain Python: no Django, no database, no network.

Typical use (a Celery task on the cpu queue)::

    from prompting.policy import get_analyzer, judge_fail_closed, PseudonymMap

    judgement = judge_fail_closed(
        text, policy=policy, mapping=mapping, analyzer=get_analyzer(company_id_patterns)
    )
    if judgement.decision == "block":
        ...  # judgement.user_message; nothing is sent
    else:
        ...  # send judgement.sanitized_text; store mapping.to_json() encrypted
        ...  # audit judgement.counts_by_type and judgement.actions_by_type

See docs/policy.md.
"""

from .analyzer import Analyzer, Detection, get_analyzer, get_pattern_analyzer, warm_up
from .errors import (
    AnalysisFailed,
    AnalysisTimedOut,
    InvalidMapping,
    InvalidPolicy,
    PolicyError,
    TextTooLong,
)
from .judge import DEFAULT_MAX_CHARS, judge, judge_fail_closed, judge_many, redact_for_storage
from .judgement import Finding, Judgement, Override, Segment
from .lexicon import NameDirectory
from .pseudonymizer import TYPED_PLACEHOLDER, PseudonymMap, StreamRestorer
from .recognizers import DEFAULT_COMPANY_ID_PATTERNS
from .rules import ACTIONS, DEFAULT_RULES, Action, Policy, Rule, default_policy

__all__ = [
    "ACTIONS",
    "DEFAULT_COMPANY_ID_PATTERNS",
    "DEFAULT_MAX_CHARS",
    "DEFAULT_RULES",
    "TYPED_PLACEHOLDER",
    "Action",
    "AnalysisFailed",
    "AnalysisTimedOut",
    "Analyzer",
    "Detection",
    "Finding",
    "InvalidMapping",
    "InvalidPolicy",
    "Judgement",
    "NameDirectory",
    "Override",
    "Policy",
    "PolicyError",
    "PseudonymMap",
    "Rule",
    "Segment",
    "StreamRestorer",
    "TextTooLong",
    "default_policy",
    "get_analyzer",
    "get_pattern_analyzer",
    "judge",
    "judge_fail_closed",
    "judge_many",
    "redact_for_storage",
    "warm_up",
]
