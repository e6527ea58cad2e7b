from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def summarize(request: HttpRequest) -> HttpResponse:
    return render(request, "prompting/summarize.html", {"nav": "summarize"})
