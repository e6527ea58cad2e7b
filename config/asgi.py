"""ASGI entry point (uvicorn). Streaming responses need ASGI; see prompting/views/stream.py."""

import os

from django.core.asgi import get_asgi_application

from config.startup import exit_on_config_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

with exit_on_config_error():
    from config.fair_share import PostsPerSessionGate
    from config.upload_limit import UploadLimitMiddleware

    # Outside Django on purpose: oversized uploads are refused before the body is read,
    # and one session's burst of POSTs waits on the event loop, not in Django's threads.
    application = UploadLimitMiddleware(PostsPerSessionGate(get_asgi_application()))

    from prompting.runs.redaction import warm_up_arrival

    warm_up_arrival()  # before the first request, not in it
