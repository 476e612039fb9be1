from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from . import selectors


@login_required
def talk_list(request: HttpRequest) -> HttpResponse:
    talks = selectors.talk_list_for_user(user=request.user)
    return render(request, "talks/talk_list.html", {"talks": talks})


@login_required
def talk_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    talk, membership = selectors.talk_get_for_user(user=request.user, slug=slug)
    return render(request, "talks/dashboard.html", {"talk": talk, "membership": membership})


@login_required
def issue_detail(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    talk, membership = selectors.talk_get_for_user(user=request.user, slug=slug)
    issue = selectors.issue_get_for_talk(talk=talk, key=key)
    return render(
        request, "talks/issue.html", {"talk": talk, "membership": membership, "issue": issue}
    )
