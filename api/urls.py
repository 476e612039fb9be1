"""The API's single URL module: every endpoint lives under /api/v1/."""

from django.urls import include, path, re_path

from issues.api import GapHistoryViewSet, GapSummaryViewSet, IssueOptionViewSet, IssueViewSet
from positions.api import (
    PositionRevisionViewSet,
    PositionViewSet,
    RevisionViewSet,
    SourceViewSet,
)
from positions.proposal_api import ProposalRevisionViewSet, ProposalViewSet
from talks.api import PartyViewSet, RoundViewSet, TalkDashboardViewSet, TalkViewSet

from .api import DocsView, MeViewSet, SchemaView, not_found

app_name = "api"

LIST = {"get": "list"}
LIST_CREATE = {"get": "list", "post": "create"}
DETAIL = {"get": "retrieve"}
DETAIL_EDIT = {"get": "retrieve", "put": "update", "patch": "partial_update"}
DETAIL_EDIT_DELETE = {**DETAIL_EDIT, "delete": "destroy"}

v1 = [
    path("me/", MeViewSet.as_view(DETAIL), name="me"),
    path("talks/", TalkViewSet.as_view(LIST), name="talk-list"),
    path("talks/<slug:slug>/", TalkViewSet.as_view(DETAIL), name="talk-detail"),
    path(
        "talks/<slug:slug>/dashboard/",
        TalkDashboardViewSet.as_view(DETAIL),
        name="talk-dashboard",
    ),
    path("rounds/", RoundViewSet.as_view(LIST), name="round-list"),
    path("rounds/<int:pk>/", RoundViewSet.as_view(DETAIL), name="round-detail"),
    path("parties/", PartyViewSet.as_view(LIST), name="party-list"),
    path("parties/<int:pk>/", PartyViewSet.as_view(DETAIL), name="party-detail"),
    path("issues/", IssueViewSet.as_view(LIST_CREATE), name="issue-list"),
    path("issues/<int:pk>/", IssueViewSet.as_view(DETAIL_EDIT), name="issue-detail"),
    path(
        "issues/<int:pk>/option-order/",
        IssueViewSet.as_view({"put": "option_order"}),
        name="issue-option-order",
    ),
    path(
        "issues/<int:issue_pk>/options/",
        IssueOptionViewSet.as_view(LIST_CREATE),
        name="issue-option-list",
    ),
    path(
        "issues/<int:issue_pk>/options/<slug:key>/",
        IssueOptionViewSet.as_view({**DETAIL_EDIT_DELETE}),
        name="issue-option-detail",
    ),
    path("positions/", PositionViewSet.as_view(LIST_CREATE), name="position-list"),
    path(
        "positions/<int:pk>/", PositionViewSet.as_view(DETAIL_EDIT_DELETE), name="position-detail"
    ),
    path(
        "positions/<int:position_pk>/revisions/",
        PositionRevisionViewSet.as_view(LIST),
        name="position-revisions",
    ),
    path("revisions/", RevisionViewSet.as_view(LIST), name="revision-list"),
    path("sources/", SourceViewSet.as_view(LIST_CREATE), name="source-list"),
    path("sources/<int:pk>/", SourceViewSet.as_view(DETAIL_EDIT_DELETE), name="source-detail"),
    path("proposals/", ProposalViewSet.as_view(LIST_CREATE), name="proposal-list"),
    path(
        "proposals/suggest/",
        ProposalViewSet.as_view({"post": "suggest"}),
        name="proposal-suggest",
    ),
    path("proposals/<int:pk>/", ProposalViewSet.as_view(DETAIL_EDIT), name="proposal-detail"),
    path(
        "proposals/<int:pk>/terms/<slug:issue_key>/<int:phase>/",
        ProposalViewSet.as_view({"put": "term_set", "delete": "term_remove"}),
        name="proposal-term",
    ),
    path(
        "proposals/<int:pk>/copy/",
        ProposalViewSet.as_view({"post": "copy"}),
        name="proposal-copy",
    ),
    path(
        "proposals/<int:pk>/evaluation/",
        ProposalViewSet.as_view({"get": "evaluation"}),
        name="proposal-evaluation",
    ),
    path(
        "proposals/<int:pk>/compare/",
        ProposalViewSet.as_view({"get": "compare"}),
        name="proposal-compare",
    ),
    path(
        "proposals/<int:proposal_pk>/revisions/",
        ProposalRevisionViewSet.as_view(LIST),
        name="proposal-revisions",
    ),
    path("gaps/", GapSummaryViewSet.as_view(LIST), name="gap-list"),
    path("gaps/<int:issue_pk>/<slug:layer>/", GapSummaryViewSet.as_view(DETAIL), name="gap-detail"),
    path(
        "gaps/<int:issue_pk>/<slug:layer>/history/",
        GapHistoryViewSet.as_view(LIST),
        name="gap-history",
    ),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
    # Anything else under /api/ answers in the API's error shape, not an HTML page.
    re_path(r"^", not_found, name="not-found"),
]
