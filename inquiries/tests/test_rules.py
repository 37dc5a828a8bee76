import pytest

from inquiries import rules


@pytest.mark.parametrize(
    ("old", "new", "allowed"),
    [
        ("new", "contacted", True),
        ("new", "closed", True),
        ("contacted", "booked", True),
        ("booked", "closed", True),
        ("closed", "contacted", True),
        ("closed", "booked", False),
        ("booked", "new", False),
        ("contacted", "new", False),
        ("new", "unknown", False),
    ],
)
def test_the_queue_lifecycle(old, new, allowed):
    assert rules.status_change_allowed(old, new) is allowed


@pytest.mark.parametrize(
    ("phone", "email", "channels", "expected"),
    [
        ("+13125550100", "", {"phone"}, set()),
        ("", "a@example.org", {"email"}, set()),
        ("", "", set(), {"contact_by", "phone"}),
        ("", "a@example.org", {"sms"}, {"phone"}),
        ("+13125550100", "", {"email"}, {"email"}),
        ("+13125550100", "a@example.org", set(), {"contact_by"}),
    ],
)
def test_the_contact_details_match_the_ways_chosen(phone, email, channels, expected):
    assert set(rules.contact_problems(phone=phone, email=email, channels=channels)) == expected


def test_rate_limit_keys_hold_no_contact_detail_and_fold_the_address_case():
    keys = rules.contact_keys(phone="+13125550100", email=" Ann@Example.org ", secret="s")
    assert keys == rules.contact_keys(phone="+13125550100", email="ann@example.org", secret="s")
    assert all("3125550100" not in k and "example" not in k for k in keys)
    assert rules.contact_keys(phone="", email="", secret="s") == []
    assert rules.address_key(address="10.0.0.1", secret="s") != rules.address_key(address="10.0.0.1", secret="t")


def test_every_reason_names_intake_indications_or_none():
    assert set(rules.REASON_INDICATIONS) == set(rules.REASON_LABELS)
    assert rules.REASON_INDICATIONS[rules.Reason.NOT_SURE] == frozenset()


@pytest.mark.parametrize(
    ("who", "phone", "email", "texts", "emails", "expected"),
    [
        ("self", "+13125550100", "", True, False, {"sms"}),
        ("self", "+13125550100", "a@example.org", True, True, {"sms", "email"}),
        ("self", "", "a@example.org", False, True, {"email"}),
        ("self", "+13125550100", "", False, False, set()),  # calls only: no reminder goes by phone
        ("self", "", "a@example.org", True, False, set()),  # texts ticked without a number to text
        ("referrer", "+13125550100", "a@example.org", True, True, set()),  # not the patient's consent
    ],
)
def test_the_reminder_channels_a_person_gives_on_the_form(who, phone, email, texts, emails, expected):
    assert rules.reminder_channels(who=who, phone=phone, email=email, texts=texts, emails=emails) == expected
