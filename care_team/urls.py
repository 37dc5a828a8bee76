from django.urls import path

from care_team import views

app_name = "care_team"

urlpatterns = [
    path("directory/", views.directory, name="directory"),
    path("directory/new/", views.provider_new, name="provider-new"),
    path("directory/<int:provider_id>/edit/", views.provider_edit, name="provider-edit"),
    path("directory/<int:provider_id>/retire/", views.provider_retire, name="provider-retire"),
    path("patients/<int:patient_id>/panel/", views.patient_panel, name="patient-panel"),
    path("patients/<int:patient_id>/add/", views.member_add, name="member-add"),
    path("patients/<int:patient_id>/integration/book/", views.adjunct_book, name="adjunct-book"),
    path("members/<int:member_id>/end/", views.member_end, name="member-end"),
    path("members/<int:member_id>/authorisation/", views.authorisation_new, name="authorisation-new"),
    path("members/<int:member_id>/letter/", views.letter_draft, name="letter-draft"),
    path("authorisations/<int:authorisation_id>/revoke/", views.authorisation_revoke, name="authorisation-revoke"),
    path("letters/", views.letters, name="letters"),
    path("letters/<int:letter_id>/", views.letter_detail, name="letter"),
    path("integration/<int:adjunct_id>/", views.adjunct_note, name="adjunct-note"),
    path("integration/<int:adjunct_id>/amend/", views.adjunct_note_amend, name="adjunct-note-amend"),
]
