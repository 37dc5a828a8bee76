"""Generated documents in an S3-compatible store: issued there, read back through the app.

Runs against moto's S3 server on 127.0.0.1 (a stand-in for S3 or MinIO), configured through the
same environment variables production uses."""

from __future__ import annotations

import hashlib
import importlib

import boto3
import pytest
from django.urls import reverse
from moto.server import ThreadedMotoServer

from documents import services
from documents.models import Document
from documents.tests.factories import issued_summary

BUCKET = "grace-documents-test"


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_documents(s3_endpoint, settings, monkeypatch):
    """STORAGES as the settings module builds it from the production variables."""
    for name, value in {
        "DOCUMENTS_S3_BUCKET": BUCKET,
        "DOCUMENTS_S3_ENDPOINT_URL": s3_endpoint,
        "DOCUMENTS_S3_REGION": "us-east-1",
        "DOCUMENTS_S3_ACCESS_KEY_ID": "testing",
        "DOCUMENTS_S3_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    import grace_mindcare.settings as production

    built = importlib.reload(production).STORAGES["documents"]
    settings.STORAGES = {**settings.STORAGES, "documents": built}
    client = boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    client.create_bucket(Bucket=BUCKET)
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


@pytest.mark.django_db
def test_an_issued_pdf_goes_to_the_bucket_encrypted_and_downloads_through_the_app(s3_documents, client):
    document = issued_summary()
    assert document.pdf is None  # not in the database
    key = f"grace/{document.storage_name}"
    stored = s3_documents.get_object(Bucket=BUCKET, Key=key)
    body = stored["Body"].read()
    assert stored["ServerSideEncryption"] == "AES256"
    assert hashlib.sha256(body).hexdigest() == document.pdf_sha256
    assert services.pdf_bytes(Document.objects.get(pk=document.pk)) == body

    client.force_login(document.issued_by)
    response = client.get(reverse("documents:download", args=[document.pk]))
    assert response.status_code == 200
    assert response.content == body


def test_without_a_bucket_documents_stay_in_the_database(settings):
    assert "documents" not in settings.STORAGES
