"""Views of the test project, each answering JSON or plain text (no templates)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import aauthenticate, alogin, alogout, authenticate, login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from sessionware.django import SessionStore


def _data(session: Any) -> dict[str, Any]:
    return {k: v for k, v in session.items() if not k.startswith("_")}


def show(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"data": _data(request.session), "user": request.user.get_username()})


def static(request: HttpRequest) -> HttpResponse:
    return HttpResponse("static")  # never touches the session


@csrf_exempt
def put(request: HttpRequest, name: str, value: str) -> HttpResponse:
    request.session[name] = value
    if "expiry" in request.GET:
        request.session.set_expiry(int(request.GET["expiry"]))
    return HttpResponse("stored")


@csrf_exempt
def sign_in(request: HttpRequest) -> HttpResponse:
    user = authenticate(
        request, username=request.POST["username"], password=request.POST["password"]
    )
    if user is None:
        return HttpResponse("no", status=403)
    login(request, user)
    return HttpResponse("welcome")


@csrf_exempt
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponse("bye")


@csrf_exempt
def flash(request: HttpRequest) -> HttpResponse:
    messages.success(request, request.POST.get("text", "saved"))
    return HttpResponseRedirect("/messages")


def read_messages(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"messages": [str(m) for m in messages.get_messages(request)]})


def form(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":  # the CSRF middleware has already checked the token
        return HttpResponse("accepted")
    return HttpResponse(get_token(request))


@csrf_exempt
def race(request: HttpRequest) -> HttpResponse:
    """Change the session after another request deleted it (a logout elsewhere)."""
    request.session["n"] = request.session.get("n", 0) + 1
    SessionStore().delete(request.session.session_key)
    return HttpResponse("raced")


# -- async views: the session's async twins on the event loop -----------------------------


async def ashow(request: HttpRequest) -> JsonResponse:
    items = await request.session.aitems()
    user = await request.auser()
    return JsonResponse(
        {"data": {k: v for k, v in items if not k.startswith("_")}, "user": user.get_username()}
    )


@csrf_exempt
async def aput(request: HttpRequest, name: str, value: str) -> HttpResponse:
    await request.session.aset(name, value)
    return HttpResponse("stored")


@csrf_exempt
async def asign_in(request: HttpRequest) -> HttpResponse:
    user = await aauthenticate(
        request, username=request.POST["username"], password=request.POST["password"]
    )
    if user is None:
        return HttpResponse("no", status=403)
    await alogin(request, user)
    return HttpResponse("welcome")


@csrf_exempt
async def asign_out(request: HttpRequest) -> HttpResponse:
    await alogout(request)
    return HttpResponse("bye")


urlpatterns = [
    path("static", static),
    path("session", show),
    path("put/<str:name>/<str:value>", put),
    path("login", sign_in),
    path("logout", sign_out),
    path("flash", flash),
    path("messages", read_messages),
    path("form", form),
    path("race", race),
    path("async/session", ashow),
    path("async/put/<str:name>/<str:value>", aput),
    path("async/login", asign_in),
    path("async/logout", asign_out),
]
