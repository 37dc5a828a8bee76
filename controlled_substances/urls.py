from django.urls import path

from controlled_substances import session_views, views

app_name = "controlled_substances"

urlpatterns = [
    path("", views.index, name="index"),
    path("receive/", views.receive, name="receive"),
    path("containers/<int:container_id>/", views.container_detail, name="container-detail"),
    path("containers/<int:container_id>/waste/", views.container_waste, name="container-waste"),
    path("containers/<int:container_id>/destroy/", views.container_destroy, name="container-destroy"),
    path("containers/<int:container_id>/transfer/", views.container_transfer, name="container-transfer"),
    path("containers/<int:container_id>/move/", views.container_move, name="container-move"),
    path("containers/<int:container_id>/loss/", views.container_loss, name="container-loss"),
    path("containers/<int:container_id>/adjust/", views.container_adjust, name="container-adjust"),
    path("entries/<int:entry_id>/reverse/", views.entry_reverse, name="entry-reverse"),
    path("losses/<int:report_id>/", views.loss_report, name="loss-report"),
    path("rescue-doses/<int:rescue_dose_id>/logged/", views.rescue_dose_logged, name="rescue-dose-logged"),
    path("counts/", views.count_list, name="counts"),
    path("counts/new/", views.count_new, name="count-new"),
    path("counts/<int:count_id>/", views.count_detail, name="count-detail"),
    path("counts/lines/<int:line_id>/resolve/", views.count_line_resolve, name="count-line-resolve"),
    path("reports/balances/", views.report_balances, name="report-balances"),
    path("reports/dispensing/", views.report_dispensing, name="report-dispensing"),
    path("reports/waste/", views.report_waste, name="report-waste"),
    path("reports/discrepancies/", views.report_discrepancies, name="report-discrepancies"),
    # The infusion session page loads this panel by htmx (kwarg pk = the session).
    path("sessions/<int:pk>/panel/", session_views.session_panel, name="session-panel"),
    path("sessions/<int:pk>/draw/", session_views.session_draw, name="session-draw"),
    path("sessions/<int:pk>/waste/", session_views.session_waste, name="session-waste"),
]
