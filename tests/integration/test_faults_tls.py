# -*- coding: utf-8 -*-
"""TLS faults through real ansible-playbook runs: a token endpoint served over HTTPS on 127.0.0.1 with a certificate
from a private CA made for the test. Without ca_path the request fails with a message that names the profile, says
that the certificate did not verify and what to do; with ca_path set to that CA it succeeds."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from token_helper import fail, obtain

from tests.servers.launch import start


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_ca(common_name):
    """A self-signed CA: (certificate, key)."""
    key = _key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def make_server_cert(ca_cert, ca_key):
    """A server certificate for IP 127.0.0.1 signed by the CA: (certificate, key)."""
    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, '127.0.0.1')]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    """Files of a test CA, a server certificate it signed, and an unrelated CA: dict of paths."""
    root = tmp_path_factory.mktemp('pki')
    ca_cert, ca_key = make_ca('tokenops test CA')
    server_cert, server_key = make_server_cert(ca_cert, ca_key)
    other_ca, other_key = make_ca('tokenops unrelated CA')
    del other_key
    files = dict(ca=ca_cert.public_bytes(serialization.Encoding.PEM),
                 other_ca=other_ca.public_bytes(serialization.Encoding.PEM),
                 cert=server_cert.public_bytes(serialization.Encoding.PEM),
                 key=_pem_key(server_key))
    paths = {}
    for name, data in files.items():
        path = root / (name + '.pem')
        path.write_bytes(data)
        path.chmod(0o600)
        paths[name] = str(path)
    return paths


@pytest.fixture(scope='module')
def tls_server(pki):
    with start('quirks', tls_cert=pki['cert'], tls_key=pki['key'], tls_ca=pki['ca']) as server:
        yield server


def profile(server, **options):
    client = server.clients['fault']
    result = dict(token_url='%s/fault/ok' % server.url, client_id=client['client_id'],
                  client_secret=client['client_secret'], retries=0)
    result.update(options)
    return result


def test_server_speaks_tls_with_the_test_ca(tls_server, pki):
    """The fixture itself: the endpoint is HTTPS and verifies with the test CA (and only with it)."""
    assert tls_server.url.startswith('https://127.0.0.1:')
    assert requests.post(tls_server.url + '/fault/ok', verify=pki['ca'], timeout=10).json()['access_token']
    with pytest.raises(requests.exceptions.SSLError):
        requests.post(tls_server.url + '/fault/ok', verify=pki['other_ca'], timeout=10)


@pytest.mark.parametrize('via', ['module', 'lookup'])
def test_untrusted_certificate_fails_with_a_clear_message(tmp_path, tls_server, via):
    out = fail(tmp_path, dict(private_idp=profile(tls_server)), 'private_idp', via=via)
    assert "profile 'private_idp': TLS verification failed: the server certificate did not verify (" in out, out
    assert 'POST %s/fault/ok' % tls_server.url in out, out
    assert 'Hint: set ca_path to the CA bundle that signed the server certificate (validate_certs: false' in out, out


def test_certificate_from_another_ca_fails(tmp_path, tls_server, pki):
    out = fail(tmp_path, dict(wrong_ca=profile(tls_server, ca_path=pki['other_ca'])), 'wrong_ca')
    assert "profile 'wrong_ca': TLS verification failed: the server certificate did not verify (" in out, out
    assert 'Hint: ca_path %s does not hold the CA that signed the server certificate' % pki['other_ca'] in out, out


def test_ca_path_makes_it_work(tmp_path, tls_server, pki):
    results = obtain(tmp_path, dict(private_idp=profile(tls_server, ca_path=pki['ca'])))
    assert results['module']['private_idp']['access_token'].startswith('fault-')
    assert results['lookup']['private_idp']['access_token'] == results['module']['private_idp']['access_token']


def test_validate_certs_false_is_the_escape_hatch(tmp_path, tls_server):
    results = obtain(tmp_path, dict(test_idp=profile(tls_server, validate_certs=False)), lookup=False)
    assert results['module']['test_idp']['access_token'].startswith('fault-')
