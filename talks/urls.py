from django.urls import path

from issues import views as issue_views
from positions import proposal_views
from positions import views as position_views

from . import views

app_name = "talks"

talk = "talks/<slug:slug>/"
issue = talk + "issues/<slug:key>/"
option = issue + "options/<slug:option_key>/"
proposals = talk + "proposals/"
proposal = proposals + "<int:pk>/"

urlpatterns = [
    path("", views.talk_list, name="list"),
    path(talk, views.talk_dashboard_page, name="dashboard"),
    path(talk + "live/", views.talk_dashboard_live, name="dashboard_live"),
    path(talk + "members/", views.members, name="members"),
    path(talk + "members/<int:pk>/role/", views.member_role, name="member_role"),
    path(talk + "members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path(talk + "manage/issues/", issue_views.issue_manage, name="issue_manage"),
    path(talk + "manage/issues/new/", issue_views.issue_new, name="issue_new"),
    path(issue, views.issue_page, name="issue"),
    path(issue + "live/", views.issue_live, name="issue_live"),
    path(issue + "edit/", issue_views.issue_edit, name="issue_edit"),
    path(issue + "options/add/", issue_views.option_add, name="option_add"),
    path(option + "edit/", issue_views.option_edit, name="option_edit"),
    path(option + "move/", issue_views.option_move, name="option_move"),
    path(option + "delete/", issue_views.option_delete, name="option_delete"),
    path(issue + "positions/new/", position_views.position_new, name="position_new"),
    path(talk + "positions/<int:pk>/edit/", position_views.position_edit, name="position_edit"),
    path(
        talk + "positions/<int:pk>/withdraw/",
        position_views.position_withdraw,
        name="position_withdraw",
    ),
    path(proposals, proposal_views.proposal_list, name="proposals"),
    path(proposals + "new/", proposal_views.proposal_new, name="proposal_new"),
    path(proposals + "suggest/", proposal_views.proposal_suggest_view, name="proposal_suggest"),
    path(proposal, proposal_views.proposal_page, name="proposal"),
    path(proposal + "edit/", proposal_views.proposal_builder, name="proposal_builder"),
    path(proposal + "terms/", proposal_views.proposal_term, name="proposal_term"),
    path(proposal + "phases/", proposal_views.proposal_phase, name="proposal_phase"),
    path(proposal + "details/", proposal_views.proposal_details, name="proposal_details"),
    path(proposal + "status/", proposal_views.proposal_status, name="proposal_status"),
    path(proposal + "copy/", proposal_views.proposal_copy_view, name="proposal_copy"),
    path(proposal + "compare/", proposal_views.proposal_compare_view, name="proposal_compare"),
]
