"""Jobs: long work run by `kehu worker`, with progress users can watch and a checkpoint to resume from.

A job kind names a runner, `run(job, context)`. The runner does its work in batches; each batch commits its
rows together with `context.commit(...)` — progress, counts and the checkpoint saved in the same transaction —
so the job row always describes exactly what is in the database. When a worker dies (killed, out of memory,
the machine restarted), `jobs_resume_stale` hands the job to a new task, and the runner starts again from
the checkpoint: nothing is lost and nothing is done twice.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import task

from kehu.core.models import Job, JobState

# kind → runner `run(job: Job, context: JobContext) -> dict` (the result); apps register theirs here.
RUNNERS: dict[str, str] = {
    "import": "kehu.ingest.runner.run_import",
    "export": "kehu.ingest.exports.run_export",
    "dedup": "kehu.dedup.services.run_dedup",
    "analytics": "kehu.analytics.services.run_analytics",
}


class JobFailed(Exception):
    """Raised by a runner for a failure the user can act on; the message is shown as it is, without a traceback."""


class JobCancelled(Exception):
    """Raised inside a runner when the user asked to stop; what was committed stays."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class JobContext:
    """What a runner uses to report: progress outside transactions, batches inside them."""

    job: Job
    on_progress: Callable[[Job], None] | None = None

    def commit(
        self,
        *,
        done: int,
        counts: Mapping[str, int] | None = None,
        checkpoint: Mapping[str, Any] | None = None,
        total: int | None = None,
    ) -> None:
        """Record progress; inside the batch's transaction, so the checkpoint and the rows commit together."""
        job = self.job
        job.progress_done = done
        if total is not None:
            job.progress_total = total
        if counts:
            merged = dict(job.counts)
            for name, value in counts.items():
                merged[name] = merged.get(name, 0) + value
            job.counts = merged
        if checkpoint is not None:
            job.checkpoint = dict(checkpoint)
        job.heartbeat_at = timezone.now()
        Job.objects.filter(pk=job.pk).update(
            progress_done=job.progress_done,
            progress_total=job.progress_total,
            counts=job.counts,
            checkpoint=job.checkpoint,
            heartbeat_at=job.heartbeat_at,
        )
        if self.on_progress is not None:
            self.on_progress(job)

    def check_cancelled(self) -> None:
        if Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise JobCancelled


def job_submit(*, actor: Any, kind: str, params: Mapping[str, Any], title: str = "") -> Job:
    """Create a job and queue it for the worker once the caller's transaction commits."""
    if kind not in RUNNERS:
        raise ValueError(f"unknown job kind {kind!r}")
    job = Job.objects.create(kind=kind, created_by=actor, params=dict(params), title=title[:200])
    transaction.on_commit(lambda: job_run_task.enqueue(job.pk))
    return job


def job_cancel(job: Job) -> None:
    """Ask a job to stop after its current batch; a job still waiting is cancelled at once."""
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    Job.objects.filter(pk=job.pk, state=JobState.QUEUED).update(state=JobState.CANCELLED, finished_at=timezone.now())
    job.refresh_from_db()


def _claim(job_id: int) -> Job | None:
    """Mark the job as ours, unless it finished or another live worker holds it."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.finished:
            return None
        if job.state == JobState.RUNNING and job.worker and not _worker_gone(job):
            return None
        job.state = JobState.RUNNING
        job.worker = worker_name()
        job.attempts += 1
        job.started_at = job.started_at or timezone.now()
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["state", "worker", "attempts", "started_at", "heartbeat_at"])
        return job


def job_run(job_id: int, *, on_progress: Callable[[Job], None] | None = None) -> Job | None:
    """Run (or resume) a job in this process; the worker's task and `kehu import` both call it."""
    job = _claim(job_id)
    if job is None:
        return Job.objects.filter(pk=job_id).first()
    runner = import_string(RUNNERS[job.kind])
    context = JobContext(job=job, on_progress=on_progress)
    try:
        result = runner(job, context)
    except JobCancelled:
        _finish(job, JobState.CANCELLED)
    except JobFailed as failure:
        _finish(job, JobState.FAILED, error=str(failure))
    except Exception as error:
        _finish(job, JobState.FAILED, error=f"{type(error).__name__}: {error}\n\n{traceback.format_exc(limit=8)}")
        raise
    else:
        _finish(job, JobState.SUCCEEDED, result=result or {})
    return job


def _finish(job: Job, state: str, *, result: dict[str, Any] | None = None, error: str = "") -> None:
    job.state = state
    job.finished_at = timezone.now()
    job.error = error
    if result is not None:
        job.result = result
    Job.objects.filter(pk=job.pk).update(
        state=job.state, finished_at=job.finished_at, error=job.error, result=job.result
    )


@task()
def job_run_task(job_id: int) -> None:
    job_run(job_id)


def _worker_gone(job: Job) -> bool:
    """Whether the worker that holds a running job is dead: its process, if on this machine, else its heartbeat."""
    host, _, pid = job.worker.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return _stale(job)
    return _stale(job)


def _stale(job: Job) -> bool:
    limit = dt.timedelta(seconds=settings.KEHU_JOB_STALE_SECONDS)
    return job.heartbeat_at is None or timezone.now() - job.heartbeat_at > limit


def jobs_resume_stale() -> list[Job]:
    """Queue again every running job whose worker died; the runner continues from its checkpoint."""
    resumed: list[Job] = []
    for job in Job.objects.filter(state=JobState.RUNNING):
        if _worker_gone(job):
            Job.objects.filter(pk=job.pk, state=JobState.RUNNING, worker=job.worker).update(
                state=JobState.QUEUED, worker=""
            )
            job_run_task.enqueue(job.pk)
            resumed.append(job)
    return resumed
