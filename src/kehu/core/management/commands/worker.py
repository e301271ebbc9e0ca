"""`kehu worker`: run queued jobs (imports, exports…), resuming any whose worker died."""

from __future__ import annotations

import logging
import threading
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection
from django_tasks_db.management.commands.db_worker import Worker

from kehu.core.jobs import jobs_resume_stale, worker_name

logger = logging.getLogger("kehu.worker")


def _watch(stop: threading.Event, interval: float) -> None:
    """Every `interval` seconds, queue again the jobs of workers that died (on this machine or silent too long)."""
    while not stop.wait(interval):
        try:
            for job in jobs_resume_stale():
                logger.warning("job %s resumed: its worker stopped", job.public_id)
            from kehu.analytics.services import analytics_nightly_due
            from kehu.ingest.services import files_expire

            if removed := files_expire():
                logger.info("%s uploaded or exported files deleted after their keeping period", removed)
            if nightly := analytics_nightly_due():
                logger.info("nightly analytics run %s queued", nightly.public_id)
        except Exception:  # a database hiccup must not stop the watcher; the next round tries again
            logger.exception("resuming stale jobs failed")
        finally:
            connection.close()


class Command(BaseCommand):
    help = "Run background jobs (django-tasks database backend); resumes jobs whose worker died"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between looks for new work")
        parser.add_argument("--batch", action="store_true", help="exit when no work is left (for scripts and tests)")
        parser.add_argument("--max-tasks", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        for job in jobs_resume_stale():
            self.stderr.write(f"resuming job {job.public_id} ({job.kind}) from its checkpoint")
        close_old_connections()
        stop = threading.Event()
        watcher = threading.Thread(
            target=_watch, args=(stop, max(settings.KEHU_JOB_STALE_SECONDS / 2, 2.0)), daemon=True
        )
        watcher.start()
        worker = Worker(
            queue_names=["default"],
            interval=options["interval"],
            batch=options["batch"],
            backend_name="default",
            startup_delay=False,
            max_tasks=options["max_tasks"],
            worker_id=worker_name()[:64],
            excluded_queue_names=[],
        )
        worker.configure_signals()  # the first Ctrl+C or SIGTERM lets the current batch finish
        try:
            worker.run()
        finally:
            stop.set()
