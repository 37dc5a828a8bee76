"""The identifier checks and the currency of credentials: pure tables, no database."""

from datetime import date

import pytest

from prescribers import rules
from prescribers.rules import CredentialError, Held

TODAY = date(2026, 6, 15)


@pytest.mark.parametrize(
    ("npi", "expected"),
    [
        ("1234567893", "1234567893"),  # CMS's worked example
        ("1999999984", "1999999984"),
        ("1000000004", "1000000004"),
        (" 1546-372818 ", "1546372818"),  # spaces and dashes are typing, not content
    ],
)
def test_a_valid_npi_is_accepted(npi, expected):
    assert rules.normalise_npi(npi) == expected


@pytest.mark.parametrize(
    ("npi", "message"),
    [
        ("1234567890", "check digit"),  # last digit wrong
        ("1234567839", "check digit"),  # two digits swapped
        ("2234567893", "check digit"),
        ("123456789", "10 digits"),
        ("12345678931", "10 digits"),
        ("12345678a3", "10 digits"),
        ("", "10 digits"),
    ],
)
def test_an_invalid_npi_is_refused_at_the_npi_field(npi, message):
    with pytest.raises(CredentialError, match=message) as error:
        rules.normalise_npi(npi)
    assert error.value.field == "npi"


def test_the_npi_check_digit_uses_the_80840_prefix():
    # Without the prefix, Luhn picks a different check digit for the same nine digits.
    assert rules.luhn_valid("80840" + "1234567893")
    assert not rules.luhn_valid("1234567893")


@pytest.mark.parametrize(
    ("number", "credential", "expected"),
    [
        ("AB1234563", "MD", "AB1234563"),  # (1+3+5) + 2*(2+4+6) = 33 -> 3
        ("bj7654329", "DO", "BJ7654329"),
        ("FS3141594", "", "FS3141594"),
        ("MK1234563", "NP", "MK1234563"),
        ("MR0000000", "PA", "MR0000000"),
        ("G91234563", "MD", "G91234563"),  # 9 in place of a surname initial
    ],
)
def test_a_valid_dea_number_is_accepted(number, credential, expected):
    assert rules.normalise_dea(number, credential=credential) == expected


@pytest.mark.parametrize(
    ("number", "credential", "message"),
    [
        ("AB1234564", "MD", "check digit"),
        ("AB2134563", "MD", "check digit"),  # transposed digits
        ("AB123456", "MD", "two letters and seven digits"),
        ("A11234563", "MD", "two letters and seven digits"),
        ("1B1234563", "MD", "two letters and seven digits"),
        ("", "MD", "two letters and seven digits"),
        ("MB1234563", "MD", "A, B, F or G"),  # a mid-level number for a physician
        ("AB1234563", "NP", "starts with M"),
        ("BB1234563", "PA", "starts with M"),
    ],
)
def test_an_invalid_dea_number_is_refused_at_its_field(number, credential, message):
    with pytest.raises(CredentialError, match=message) as error:
        rules.normalise_dea(number, credential=credential)
    assert error.value.field == "dea_number"


@pytest.mark.parametrize(("state", "ok"), [("ny", True), (" CA ", True), ("DC", True), ("PR", True), ("XX", False)])
def test_the_licensing_state_is_a_usps_code(state, ok):
    if ok:
        assert rules.normalise_state(state) == state.strip().upper()
    else:
        with pytest.raises(CredentialError, match="two-letter"):
            rules.normalise_state(state)


@pytest.mark.parametrize(("credential", "ok"), [("MD", True), ("DO", True), ("NP", True), ("PA", True), ("RN", False)])
def test_only_physicians_nps_and_pas_are_prescribers(credential, ok):
    if ok:
        assert rules.check_credential(credential) == credential
    else:
        with pytest.raises(CredentialError, match="physician"):
            rules.check_credential(credential)


def _licence(expires_on, where="NY"):
    return Held("licence", where, "123456", expires_on)


def _registration(expires_on, where="Midtown"):
    return Held("registration", where, "AB1234563", expires_on)


@pytest.mark.parametrize(
    ("licences", "registrations", "expected"),
    [
        ([_licence(TODAY)], [_registration(TODAY)], []),  # the expiry date is the last valid day
        ([_licence(date(2026, 6, 14))], [_registration(TODAY)], ["NY licence 123456 expired on 14 Jun 2026"]),
        (
            [_licence(TODAY)],
            [_registration(date(2025, 1, 31))],
            ["DEA registration AB1234563 (Midtown) expired on 31 Jan 2025"],
        ),
        ([_licence(date(2020, 1, 1), "NJ"), _licence(date(2027, 1, 1))], [_registration(TODAY)], []),  # one current
        ([], [_registration(TODAY)], ["No state licence is on file"]),
        ([_licence(TODAY)], [], ["No DEA registration is on file for this location"]),
        (
            [_licence(date(2026, 1, 1))],
            [_registration(date(2026, 1, 1))],
            ["licence 123456 expired", "DEA registration AB1234563 (Midtown) expired"],
        ),
    ],
)
def test_credential_problems(licences, registrations, expected):
    problems = rules.credential_problems(licences=licences, registrations=registrations, today=TODAY)
    assert len(problems) == len(expected)
    for problem, words in zip(problems, expected, strict=True):
        assert words in problem
