import sys

from prompting.llm.emulator.server import main

sys.exit(main())
