from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.db import connection
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_safe
from django.views.static import serve


@require_safe  # monitors often ask with HEAD
@never_cache
def healthz(request):
    """For monitors: 200 when the database answers, 503 otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 — any database failure means "unhealthy"
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


@require_safe
@cache_control(max_age=86400, public=True)
def favicon(request):
    """/favicon.ico, which some browsers and tools ask for whatever the page links: the static icon. A temporary
    redirect, since the static file's name carries its hash (ManifestStaticFilesStorage) and changes with it."""
    return HttpResponseRedirect(static("img/favicon.ico"))


@require_safe
def media(request, path):
    """Uploaded files (product images, the logo) when the shop serves them itself (``SERVE_MEDIA``): Django's static
    view, where a name the file system refuses to look up (a part longer than 255 bytes, a path beyond 4,096) or one
    that leads out of the media folder is a 404 like any file that does not exist, not an error."""
    try:
        return serve(request, path, document_root=settings.MEDIA_ROOT)
    except (OSError, SuspiciousFileOperation):
        raise Http404 from None
