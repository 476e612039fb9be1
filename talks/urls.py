from django.urls import path

from . import views

app_name = "talks"

urlpatterns = [
    path("", views.talk_list, name="list"),
    path("talks/<slug:slug>/", views.talk_dashboard, name="dashboard"),
    path("talks/<slug:slug>/issues/<slug:key>/", views.issue_detail, name="issue"),
]
