from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def chat(request: HttpRequest) -> HttpResponse:
    return render(request, "prompting/chat.html", {"nav": "chat"})


def rewrite(request: HttpRequest) -> HttpResponse:
    return render(request, "prompting/rewrite.html", {"nav": "rewrite"})


def summarize(request: HttpRequest) -> HttpResponse:
    return render(request, "prompting/summarize.html", {"nav": "summarize"})
