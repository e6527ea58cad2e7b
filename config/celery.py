"""The Celery app: Redis broker, JSON only, queues `interactive` and `cpu`.

Run the two pools in production:
  celery -A config worker -Q interactive --pool threads --concurrency 200
  celery -A config worker -Q cpu --pool prefork --concurrency <cores>
  celery -A config beat
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["config", "prompting", "audit", "accounts", "insights"])
