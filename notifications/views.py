"""The shopper's side of e-mails: the opt-out page of reminders.

The link of a reminder (and its ``List-Unsubscribe`` header) holds the address's HMAC, signed. GET shows what the
button does (link scanners fetch links: a GET changes nothing); POST records the opt-out. The POST takes no CSRF
token: mail programs send it in one click without one (RFC 8058), and the signed link is the proof it needs."""

from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import optout


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def opt_out(request, token):
    hash_value = optout.hash_from_token(token)
    if hash_value is None:
        return render(request, "storefront/opt_out.html", {"invalid": True}, status=404)
    done = False
    if request.method == "POST":
        optout.record_opt_out(hash_value)
        done = True
    return render(request, "storefront/opt_out.html", {"done": done, "token": token})
