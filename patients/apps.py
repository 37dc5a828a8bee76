from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = "Patient registry"

    def ready(self) -> None:
        # lazy: the selectors import models, which are not loaded when the app config is.
        from accounts.audit import register_patient_lookup
        from patients.selectors import patient_ids_for_mrn

        # The audit report filters the trail by patient id after looking the MRN up here.
        register_patient_lookup(patient_ids_for_mrn)
