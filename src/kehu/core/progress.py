"""What kehu's commands share: the user a command acts as, and a job run in the terminal with a progress bar
(`kehu import`, `kehu dedup run`, `kehu analytics run`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.management.base import OutputWrapper
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from kehu.core.jobs import job_run
from kehu.core.models import Job

if TYPE_CHECKING:
    from kehu.accounts.models import User


def acting_user(username: str) -> User:
    """The active user named `username`, whose role and scope a command applies; a CommandError otherwise."""
    from django.core.management.base import CommandError

    from kehu.accounts.models import User

    actor = User.objects.filter(username=username, is_active=True).first()
    if actor is None:
        raise CommandError(f"{username} is not an active user")
    return actor


def job_run_with_bar(job: Job, *, label: str, errors: OutputWrapper, failure: str) -> Job:
    """Run the job in this process, showing `label` with its progress; returns it refreshed.

    An exception is said once on `errors` as "`failure`: …" (the job row keeps the whole error)."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task(label, total=None)

        def show(current: Job) -> None:
            progress.update(task, completed=current.progress_done, total=current.progress_total)

        try:
            job_run(job.pk, on_progress=show)
        except Exception as error:  # noqa: BLE001 - the job row keeps the full error; the command says it once
            errors.write(f"{failure}: {error}\n")
    job.refresh_from_db()
    return job


def job_run_in_terminal(
    job: Job,
    *,
    background: bool,
    out: OutputWrapper,
    errors: OutputWrapper,
    label: str,
    failure: str,
    must_succeed: bool = True,
) -> Job | None:
    """What a command does with the job it started: with `background`, say it is queued and return None (the
    worker runs it); else run it here with a progress bar. With `must_succeed`, a job that did not succeed
    ends the command with its first error line."""
    from django.core.management.base import CommandError

    from kehu.core.models import JobState

    if background:
        out.write(f"queued job {job.public_id}; `kehu worker` runs it")
        return None
    job = job_run_with_bar(job, label=label, errors=errors, failure=failure)
    if must_succeed and job.state != JobState.SUCCEEDED:
        raise CommandError(job.error.splitlines()[0] if job.error else f"{failure}: the job ended {job.state}")
    return job
