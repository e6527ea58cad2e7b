"""The project's Bedrock Runtime emulator (same wire protocol as Bedrock), for `make run`
without AWS credentials, tests and benchmarks: `server.py` serves, `scenarios.py` reads
the per-request fault and timing directives. `python -m prompting.llm.emulator`."""

from prompting.llm.emulator.server import (
    EmulatorDefaults,
    EmulatorServer,
    ReceivedRequest,
    main,
    start_emulator,
)

__all__ = ["EmulatorDefaults", "EmulatorServer", "ReceivedRequest", "main", "start_emulator"]
