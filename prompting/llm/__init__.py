"""Claude on Bedrock: client, model allowlist and pricing, and a local emulator.

Pure Python: nothing here imports Django. Settings are passed in by the caller. The boto3
client lives in `prompting.llm.client` (not re-exported here, so that importing the
allowlist from settings does not import boto3).
"""

from prompting.llm.errors import (
    BedrockError,
    BedrockUnavailable,
    InputTooLong,
    LLMError,
    ModelNotAllowed,
    ModelStreamError,
    StreamStalled,
    Throttled,
)
from prompting.llm.events import (
    STOP_REASON_CANCELLED,
    Finished,
    StreamEvent,
    TextDelta,
    Usage,
)
from prompting.llm.models import (
    DEFAULT_MODELS,
    ModelAllowlistError,
    ModelSpec,
    cost_usd,
    default_model,
    parse_model_allowlist,
    resolve_model,
)

__all__ = [
    "DEFAULT_MODELS",
    "STOP_REASON_CANCELLED",
    "BedrockError",
    "BedrockUnavailable",
    "Finished",
    "InputTooLong",
    "LLMError",
    "ModelAllowlistError",
    "ModelNotAllowed",
    "ModelSpec",
    "ModelStreamError",
    "StreamEvent",
    "StreamStalled",
    "TextDelta",
    "Throttled",
    "Usage",
    "cost_usd",
    "default_model",
    "parse_model_allowlist",
    "resolve_model",
]
