from django.urls import path

from infusions.views import board, session

app_name = "infusions"

urlpatterns = [
    path("board/", board.board_index, name="board-index"),
    path("board/<int:location_id>/", board.chair_board, name="board"),
    path("home/clinician/", board.clinician_home_panel, name="clinician-home"),
    path("home/front-desk/", board.front_desk_home_panel, name="front-desk-home"),
    path("patients/<int:patient_id>/panel/", board.patient_panel, name="patient-panel"),
    path("appointments/<int:appointment_id>/open/", session.session_open, name="open"),
    path("sessions/<int:session_id>/", session.session_detail, name="session"),
    path("sessions/<int:session_id>/check-in/", session.session_check_in, name="check-in"),
    path("sessions/<int:session_id>/instruments/<str:code>/", session.instrument, name="instrument"),
    path("sessions/<int:session_id>/precheck/", session.precheck, name="precheck"),
    path("sessions/<int:session_id>/clear/", session.clear, name="clear"),
    path("sessions/<int:session_id>/defer/", session.defer, name="defer"),
    path("sessions/<int:session_id>/request-prescriber/", session.request_prescriber, name="request-prescriber"),
    path("sessions/<int:session_id>/dose/", session.dose, name="dose"),
    path("sessions/<int:session_id>/dose/<int:dose_id>/verify/", session.dose_verify, name="dose-verify"),
    path("sessions/<int:session_id>/status/", session.transition, name="transition"),
    path("sessions/<int:session_id>/rate/", session.rate_change, name="rate-change"),
    path("sessions/<int:session_id>/readings/", session.reading, name="reading"),
    path("sessions/<int:session_id>/alerts/<int:infusion_alert_id>/action/", session.alert_action, name="alert-action"),
    path("sessions/<int:session_id>/adverse-events/", session.adverse_event, name="adverse-event"),
    path(
        "sessions/<int:session_id>/adverse-events/<int:adverse_event_id>/outcome/",
        session.adverse_event_outcome,
        name="adverse-event-outcome",
    ),
    path("sessions/<int:session_id>/discharge/", session.discharge_details, name="discharge"),
    path("sessions/<int:session_id>/sign/", session.sign, name="sign"),
    path("sessions/<int:session_id>/amend/", session.amend, name="amend"),
]
