"""An example task that proves a worker can reach the database."""

from celery import shared_task
from django.db import connection


@shared_task(name="config.tasks.health_check")
def health_check() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"
