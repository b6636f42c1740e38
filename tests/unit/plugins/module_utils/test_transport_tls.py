# -*- coding: utf-8 -*-
"""Transport against a throwaway in-process HTTPS server with certificates from a CA made for the test: what a
certificate that does not verify is reported as, and that ca_path / validate_certs make it work."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import http.server
import ipaddress
import ssl
import threading

import pytest

from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import ProfileError, TransportError
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import build_profile
from ansible_collections.tokenops.oauth2.plugins.module_utils.transport import Transport

x509 = pytest.importorskip('cryptography.x509')
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402  pylint: disable=wrong-import-position
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402  pylint: disable=wrong-import-position
from cryptography.x509.oid import NameOID  # noqa: E402  pylint: disable=wrong-import-position


def _certificate(subject, issuer, public_key, signing_key, ca, san=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    """PEM files: ca, other_ca, and two server certificates signed by ca: good (IP 127.0.0.1), wrong_host."""
    root = tmp_path_factory.mktemp('pki')
    paths = {}

    def save(name, data):
        paths[name] = str(root / name)
        (root / name).write_bytes(data)

    ca_key, other_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate('unit CA', 'unit CA', ca_key.public_key(), ca_key, True)
    save('ca', ca.public_bytes(serialization.Encoding.PEM))
    other = _certificate('other CA', 'other CA', other_key.public_key(), other_key, True)
    save('other_ca', other.public_bytes(serialization.Encoding.PEM))
    for name, san in (('good', x509.IPAddress(ipaddress.ip_address('127.0.0.1'))),
                      ('wrong_host', x509.DNSName('idp.example.org'))):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(name, 'unit CA', key.public_key(), ca_key, False, san=[san])
        save(name, cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


@pytest.fixture(params=['good', 'wrong_host'])
def https_server(request, pki):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get('Content-Length') or 0))
            body = b'{"access_token": "a"}'
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    class Server(http.server.HTTPServer):
        def handle_error(self, request, client_address):
            pass  # the client rejecting the certificate is what these tests do

    httpd = Server(('127.0.0.1', 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki[request.param])
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.url = 'https://127.0.0.1:%d/token' % httpd.server_address[1]
    httpd.cert_name = request.param
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def post(url, **options):
    profile = dict(token_url=url, client_id='app', client_secret='s', retries=0, timeout=10)
    profile.update(options)
    return Transport(build_profile('p', profile)).request('POST', url, data={'grant_type': 'client_credentials'})


def test_unknown_ca_says_the_certificate_did_not_verify_and_what_to_do(https_server):
    with pytest.raises(TransportError) as err:
        post(https_server.url)
    text = str(err.value)
    assert text.startswith("profile 'p': TLS verification failed: the server certificate did not verify (")
    assert 'unable to get local issuer certificate' in text or 'self-signed certificate' in text or \
        'self signed certificate' in text, text
    assert 'POST %s' % https_server.url in text
    assert 'Hint: set ca_path to the CA bundle that signed the server certificate (validate_certs: false' in text
    assert '_ssl.c' not in text and text.count('(') == text.count(')'), text


def test_ca_path_of_the_signing_ca(https_server, pki):
    if https_server.cert_name == 'good':
        assert post(https_server.url, ca_path=pki['ca']).status == 200
        return
    # Right CA, but the certificate is for another host name.
    with pytest.raises(TransportError) as err:
        post(https_server.url, ca_path=pki['ca'])
    text = str(err.value)
    assert 'TLS verification failed: the server certificate did not verify (' in text and '127.0.0.1' in text, text
    assert 'Hint: ca_path %s does not hold the CA' % pki['ca'] in text and 'does not name this host' in text


def test_ca_path_of_another_ca_names_it(https_server, pki):
    with pytest.raises(TransportError) as err:
        post(https_server.url, ca_path=pki['other_ca'])
    text = str(err.value)
    assert 'the server certificate did not verify' in text and 'Hint: ca_path %s' % pki['other_ca'] in text, text


def test_validate_certs_false_skips_verification(https_server):
    assert post(https_server.url, validate_certs=False).status == 200


def test_other_tls_errors_keep_openssl_words_without_source_line(pki):
    """An https URL to a server that does not speak TLS: not a certificate problem, but still a TLS error."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(('127.0.0.1', 0), Handler)
    httpd.handle_error = lambda *args: None
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(TransportError) as err:
            post('https://127.0.0.1:%d/token' % httpd.server_address[1], ca_path=pki['ca'])
    finally:
        httpd.shutdown()
        httpd.server_close()
    text = str(err.value)
    assert text.startswith("profile 'p': TLS verification failed: ") and '_ssl.c' not in text, text


@pytest.fixture(scope='module')
def client_files(tmp_path_factory):
    """A client certificate and its key in separate files, another key, the key encrypted, and a file that is not PEM."""
    root = tmp_path_factory.mktemp('client')
    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    cert = _certificate('client', 'client', key.public_key(), key, False)
    files = dict(cert=cert.public_bytes(serialization.Encoding.PEM), not_pem=u't\xf6k\xe9n is not PEM\n'.encode('utf-8'))
    for name, private, encryption in (('key', key, serialization.NoEncryption()),
                                      ('other_key', other, serialization.NoEncryption()),
                                      ('encrypted_key', key, serialization.BestAvailableEncryption(b'passphrase'))):
        files[name] = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    files['cert_and_key'] = files['cert'] + files['key']
    paths = dict((name, str(root / name)) for name in files)
    for name, data in files.items():
        (root / name).write_bytes(data)
    paths['missing'] = str(root / 'missing')
    paths['directory'] = str(root)
    return paths


def transport(**options):
    return Transport(build_profile('p', dict(token_url='http://127.0.0.1:9/token', client_id='app', client_secret='s',
                                             **options)))


@pytest.mark.parametrize('options', [
    dict(ca_path='ca'), dict(ca_path='directory'), dict(client_cert='cert_and_key'), dict(client_cert='cert', client_key='key')])
def test_usable_tls_files_pass(pki, client_files, options):
    paths = dict(client_files, ca=pki['ca'])
    transport(**dict((option, paths[name]) for option, name in options.items()))


@pytest.mark.parametrize('options, named, why', [
    (dict(ca_path='not_pem'), 'ca_path', 'no certificate or crl found'),
    (dict(ca_path='missing'), 'ca_path', 'No such file or directory'),
    (dict(client_cert='not_pem'), 'client_cert', 'no certificate or crl found'),
    (dict(client_cert='directory'), 'client_cert', 'Is a directory'),
    (dict(client_cert='cert'), 'client_cert', 'its private key (no client_key is set)'),
    (dict(client_cert='cert', client_key='not_pem'), 'client_key', 'PEM lib'),
    (dict(client_cert='cert', client_key='other_key'), 'client_key', 'key values mismatch'),
    (dict(client_cert='cert', client_key='encrypted_key'), 'client_key', 'is encrypted'),
])
def test_unusable_tls_files_are_named_before_any_request(client_files, options, named, why):
    """requests reads them only in the handshake, and never for http://: the check comes first, whatever the URL."""
    with pytest.raises(ProfileError) as err:
        transport(**dict((option, client_files[name]) for option, name in options.items()))
    text = str(err.value)
    assert text.startswith("profile 'p': %s %s " % (named, client_files[options[named]])) and why in text, text
    assert '_ssl.c' not in text and 'POST' not in text, text
