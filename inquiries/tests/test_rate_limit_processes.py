"""The public form's rate limits hold across web processes: two web servers (the Procfile's web
line, one worker each, as two separate processes) on the test database, posts sent to both at
once. Exactly the limit gets through, whichever process each post reaches.

Loopback only; bounded in number and time."""

from __future__ import annotations

import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar

import pytest

from inquiries.models import Inquiry
from tests.subprocess_env import database_env
from tests.test_connections import ROOT, _free_port, _web_command

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
PER_ADDRESS, PER_CONTACT = 6, 2


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _server(port: int) -> subprocess.Popen:
    env = database_env(
        PORT=str(port),
        WEB_WORKERS="1",
        WEB_THREADS="4",
        TRUSTED_PROXY_COUNT="1",  # the posts say which client they are for, as a proxy would
        INQUIRY_POSTS_PER_ADDRESS=str(PER_ADDRESS),
        INQUIRY_PER_CONTACT=str(PER_CONTACT),
    )
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}"
    return subprocess.Popen(  # noqa: S602 - the Procfile's own line, as honcho runs it
        f"exec {_web_command()}",
        shell=True,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _wait(server: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert server.poll() is None, "a web server exited while starting"
        try:
            urllib.request.urlopen(url, timeout=30).close()  # noqa: S310 - a loopback http URL
            return
        except urllib.error.HTTPError:
            return  # answered: a 503 says no worker's heartbeat, not that the server is down
        except OSError:
            pass
        assert time.monotonic() < deadline, "a web server did not answer within 120 s"
        time.sleep(0.5)


@pytest.fixture
def two_servers():
    ports = [_free_port(), _free_port()]
    servers = [_server(port) for port in ports]
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for server, base in zip(servers, bases, strict=True):
            _wait(server, f"{base}/healthz")
        yield bases
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _token(base: str) -> tuple[str, str]:
    """The form's CSRF token and cookie, from one server (both share the secret key)."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{base}/start/", timeout=60) as response:
        html = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return token, cookie


def _post(base: str, *, token: str, cookie: str, client: str, email: str) -> int:
    body = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": token,
            "who": "self",
            "first_name": "Rate",
            "last_name": "Test",
            "date_of_birth": "04/12/1986",
            "email": email,
            "contact_by": "email",
            "reason": "not_sure",
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - a loopback http URL
        f"{base}/start/",
        data=body,
        headers={"Cookie": cookie, "X-Forwarded-For": client, "Content-Type": "application/x-www-form-urlencoded"},
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_limits_hold_across_two_web_processes(two_servers):
    token, cookie = _token(two_servers[0])

    # One client address, twelve posts at once, half to each process: exactly the limit passes.
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(
            pool.map(
                lambda n: _post(
                    two_servers[n % 2], token=token, cookie=cookie, client="203.0.113.7", email=f"a{n}@example.org"
                ),
                range(2 * PER_ADDRESS),
            )
        )
    assert sorted(codes) == [302] * PER_ADDRESS + [429] * PER_ADDRESS
    assert Inquiry.objects.count() == PER_ADDRESS

    # One e-mail address from eight client addresses, half to each process: every one is thanked
    # alike, and only the per-contact limit is stored.
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(
            pool.map(
                lambda n: _post(
                    two_servers[n % 2],
                    token=token,
                    cookie=cookie,
                    client=f"198.51.100.{n + 1}",
                    email="same@example.org",
                ),
                range(8),
            )
        )
    assert codes == [302] * 8
    assert Inquiry.objects.filter(email="same@example.org").count() == PER_CONTACT
