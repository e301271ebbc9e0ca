"""Import pages: upload a file → map its columns (with a preview) → dry run or import → watch → report.

The upload is stored encrypted; the mapping page reads its header and first rows again from it, so a user can
change the encoding or a column and see the preview follow. The import runs in `kehu worker`; its page polls
the job with htmx until it ends and then shows the counts, the refused rows and the report to download.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from kehu.accounts.access import require
from kehu.accounts.roles import Action, ObjectType
from kehu.core.changes import parse_public_id
from kehu.core.errors import NotFoundError, ServiceValidationError
from kehu.core.exports import attachment
from kehu.core.jobs import job_cancel
from kehu.core.models import Job, JobState
from kehu.customers.bulk import LikelyPolicy
from kehu.ingest.exports import FORMATS, export_file, export_start
from kehu.ingest.files import FileProblem, preview, upload_plain, upload_store
from kehu.ingest.forms import MappingForm, UploadForm
from kehu.ingest.leadforms import HONEYPOT, form_token, frame_origins, lead_submit
from kehu.ingest.mapping import auto_map, targets_for
from kehu.ingest.models import ImportIssue, ImportTemplate, LeadForm, LeadFormField, Upload
from kehu.ingest.services import import_start, imports_for_user, report_csv, report_xlsx, template_apply, template_save
from kehu.web.pages import is_htmx, not_found_for_refusals, page_user, show_errors

ISSUES_SHOWN = 200
PREVIEW_ROWS = 10


def _upload_for(request: HttpRequest, upload_id: str) -> Upload:
    """An upload of the signed-in user (nobody else's, whatever the role)."""
    upload = Upload.objects.filter(public_id=parse_public_id(upload_id), created_by=page_user(request)).first()
    if upload is None:
        raise NotFoundError
    return upload


def _job_for(request: HttpRequest, job_id: str) -> Job:
    job = imports_for_user(page_user(request)).filter(public_id=parse_public_id(job_id)).first()
    if job is None:
        raise NotFoundError
    return job


@login_required
@not_found_for_refusals
@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest) -> HttpResponse:
    """The user's imports, newest first, and the form to start one."""
    user = page_user(request)
    require(user, ObjectType.CUSTOMER, Action.CREATE)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            upload = upload_store(actor=user, name=form.cleaned_data["file"].name, source=form.cleaned_data["file"])
        except FileProblem as problem:
            form.add_error("file", str(problem))
        else:
            upload.import_type = form.cleaned_data["import_type"]
            upload.save(update_fields=["import_type"])
            return redirect("import_map", upload_id=upload.public_id)
    jobs = list(imports_for_user(user)[:50])
    return render(request, "ingest/import_list.html", {"form": form, "jobs": jobs}, status=400 if form.errors else 200)


@login_required
@not_found_for_refusals
@never_cache
@require_http_methods(["GET", "POST"])
def import_map(request: HttpRequest, upload_id: str) -> HttpResponse:
    """Column mapping with a preview of the first rows; then a dry run or the import itself."""
    user = page_user(request)
    require(user, ObjectType.CUSTOMER, Action.CREATE)
    upload = _upload_for(request, upload_id)
    import_type = upload.import_type
    data = request.POST if request.method == "POST" else None
    encoding = (data or request.GET).get("encoding", "")
    try:
        with upload_plain(upload) as path:
            table, rows = preview(path, upload.file_format, encoding=encoding, rows=PREVIEW_ROWS)
    except FileProblem as problem:
        messages.error(request, str(problem))
        table, rows = None, []
    headers = table.headers if table else []
    guessed = auto_map(headers, import_type)
    templates = list(ImportTemplate.objects.filter(created_by=user, import_type=import_type).order_by("name"))
    chosen = next((t for t in templates if str(t.pk) == request.GET.get("template")), None)
    initial_mapping = template_apply(chosen, headers, guessed) if chosen else guessed
    initial = {f"col_{index}": initial_mapping.get(header, "") for index, header in enumerate(headers)}
    initial["encoding"] = encoding
    form = MappingForm(data, headers=headers, targets=targets_for(import_type), initial=initial)
    if request.method == "POST" and table is not None and form.is_valid():
        mapping = form.mapping()
        try:
            if form.cleaned_data["save_as"]:
                template_save(actor=user, name=form.cleaned_data["save_as"], import_type=import_type, mapping=mapping)
            job = import_start(
                actor=user,
                upload=upload,
                mapping=mapping,
                import_type=import_type,
                policy=form.cleaned_data["policy"],
                duplicates=form.cleaned_data["duplicates"] or LikelyPolicy.CREATE,
                on_error=form.cleaned_data["on_error"],
                dry_run="dry_run" in request.POST,
                encoding=form.cleaned_data["encoding"],
                source_system=form.cleaned_data["source_system"],
            )
        except ServiceValidationError as error:
            show_errors(form, error, aliases={"mapping": "__all__"})
        else:
            return redirect("import_detail", job_id=job.public_id)
    context = {
        "upload": upload,
        "table": table,
        "rows": rows,
        "form": form,
        "templates": templates,
        "chosen": chosen,
        "mapped": sum(1 for value in initial_mapping.values() if value),
    }
    return render(request, "ingest/import_map.html", context, status=400 if form.errors else 200)


@login_required
@not_found_for_refusals
@never_cache
def import_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    """The job's progress (polled while it runs), its counts and the rows it refused."""
    job = _job_for(request, job_id)
    context = {
        "job": job,
        "running": not job.finished,
        "issues": list(ImportIssue.objects.filter(job=job).order_by("row_number", "id")[:ISSUES_SHOWN]),
        "issues_total": job.counts.get("failed", 0),
        "shown": ISSUES_SHOWN,
    }
    if is_htmx(request):
        return render(request, "ingest/_job_status.html", context)
    return render(request, "ingest/import_detail.html", context)


@login_required
@not_found_for_refusals
@require_POST
def import_cancel(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _job_for(request, job_id)
    if not job.finished:
        job_cancel(job)
        messages.info(request, _("The import stops after the rows it is writing now."))
    return redirect("import_detail", job_id=job.public_id)


@login_required
@not_found_for_refusals
@require_POST
def import_run_for_real(request: HttpRequest, job_id: str) -> HttpResponse:
    """After a dry run: the same file, mapping and choices, imported."""
    job = _job_for(request, job_id)
    user = page_user(request)
    upload = Upload.objects.filter(pk=job.params.get("upload_id"), created_by=user).first()
    if upload is None or not job.params.get("dry_run") or job.state != JobState.SUCCEEDED:
        raise NotFoundError
    params = job.params
    try:
        real = import_start(
            actor=user,
            upload=upload,
            mapping=params["mapping"],
            import_type=params["import_type"],
            policy=params["policy"],
            duplicates=params.get("duplicates", "create"),
            on_error=params["on_error"],
            encoding=params.get("encoding", ""),
            source_system=params.get("source_system", ""),
        )
    except ServiceValidationError as error:
        messages.error(request, error.reasons)
        return redirect("import_detail", job_id=job.public_id)
    return redirect("import_detail", job_id=real.public_id)


@login_required
@not_found_for_refusals
def import_report(request: HttpRequest, job_id: str, file_format: str) -> HttpResponse:
    """The refused rows with their reasons, as the file had them: fix and upload again."""
    job = _job_for(request, job_id)
    if file_format not in ("csv", "xlsx"):
        raise NotFoundError
    body = report_xlsx(job) if file_format == "xlsx" else report_csv(job)
    return attachment(body, file_format=file_format, name=f"kehu-import-{str(job.public_id)[:8]}-rows-not-imported")


# ---- exports ----------------------------------------------------------------------------------------------


def _export_for(request: HttpRequest, job_id: str) -> Job:
    """An export of the signed-in user: only its creator may watch or download it."""
    job = Job.objects.filter(kind="export", created_by=page_user(request), public_id=parse_public_id(job_id)).first()
    if job is None:
        raise NotFoundError
    return job


@login_required
@not_found_for_refusals
@require_POST
def export_create(request: HttpRequest) -> HttpResponse:
    """Export what the list shows for its current filters (the form sends the list's query string)."""
    user = page_user(request)
    file_format = request.POST.get("format", "csv")
    if file_format not in FORMATS:
        raise NotFoundError
    try:
        job = export_start(actor=user, query=request.POST.get("query", ""), file_format=file_format)
    except ServiceValidationError as error:
        messages.error(request, error.reasons)
        return redirect("customer_list")
    return redirect("export_detail", job_id=job.public_id)


@login_required
@not_found_for_refusals
@never_cache
def export_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _export_for(request, job_id)
    context = {"job": job, "running": not job.finished}
    if is_htmx(request):
        return render(request, "ingest/_export_status.html", context)
    return render(request, "ingest/export_detail.html", context)


@login_required
@not_found_for_refusals
def export_download(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _export_for(request, job_id)
    if job.state != JobState.SUCCEEDED or job.result.get("expired"):
        raise NotFoundError
    body, file_format, name = export_file(job)
    return attachment(body, file_format=file_format, name=name)


# ---- lead capture forms (public) ---------------------------------------------------------------------------


def _client_address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))


@csrf_exempt  # anonymous: acts with the form owner's rights only; token, honeypot and rate limit instead
@require_http_methods(["GET", "POST"])
def lead_form_page(request: HttpRequest, key: str) -> HttpResponse:
    """The public sign-up form: no sign-in; embeddable by the sites the form names."""
    form = LeadForm.objects.filter(key=key, active=True).select_related("owner").first()
    if form is None:
        raise Http404
    result = None
    if request.method == "POST":
        result = lead_submit(form=form, data=request.POST, address=_client_address(request))
    status = 200
    if result is not None and not result.accepted:
        status = 429 if result.outcome == "limited" else 400
    context = {
        "form": form,
        "fields": [(name, LeadFormField(name).label) for name in form.fields if name in LeadFormField.values],
        "values": request.POST if result is not None and not result.accepted else {},
        "errors": result.errors if result is not None else {},
        "done": result is not None and result.accepted,
        "token": form_token(form),
        "honeypot": HONEYPOT,
    }
    response = render(request, "ingest/lead_form.html", context, status=status)
    origins = frame_origins(form)
    if origins:
        # Framed by the company's own site: CSP names it; the X-Frame-Options DENY is dropped for this page.
        response["Content-Security-Policy"] = settings.KEHU_CONTENT_SECURITY_POLICY.replace(
            "frame-ancestors 'none'", f"frame-ancestors {origins}"
        )
        response.xframe_options_exempt = True
    return response
