# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX / Automation Platform pieces: the custom credential type, injected as AWX injects it into a real
ansible-playbook run against oidc-provider, and the execution environment build context from ansible-builder.

What AWX does is reproduced from its source (awx/main/models/credential/__init__.py ``inject_credential``,
awx/main/fields.py ``CredentialTypeInputField`` / ``CredentialTypeInjectorField``, awx/main/utils/safe_yaml.py):
the input and injector schemas, the injector templates rendered by a sandboxed Jinja environment over the
credential's inputs, and the extra vars written to a private file with every string tagged ``!unsafe``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import jsonschema
import pytest
import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ansible_runner_helper import REPO_ROOT, run_playbook  # noqa: E402  pylint: disable=wrong-import-position
from token_helper import cache_env, introspect  # noqa: E402  pylint: disable=wrong-import-position

AWX_DIR = os.path.join(REPO_ROOT, 'extensions', 'awx')
CREDENTIAL_TYPE = os.path.join(AWX_DIR, 'credential_type_oauth2_client.yml')
STORE_CREDENTIAL_TYPE = os.path.join(AWX_DIR, 'credential_type_shared_store.yml')
EE_DEFINITION = os.path.join(AWX_DIR, 'execution-environment.yml')
BIN_DIR = os.path.dirname(sys.executable)

# awx/main/fields.py CredentialTypeInputField.schema and CredentialTypeInjectorField.schema.
AWX_INPUTS_SCHEMA = {
    'type': 'object',
    'additionalProperties': False,
    'properties': {
        'required': {'type': 'array', 'items': {'type': 'string'}},
        'fields': {
            'type': 'array',
            'items': {
                'type': 'object',
                'properties': {
                    'type': {'enum': ['string', 'boolean']},
                    'format': {'enum': ['ssh_private_key', 'url']},
                    'choices': {'type': 'array', 'minItems': 1, 'items': {'type': 'string'}, 'uniqueItems': True},
                    'id': {'type': 'string', 'pattern': '^[a-zA-Z_]+[a-zA-Z0-9_]*$'},
                    'label': {'type': 'string'},
                    'help_text': {'type': 'string'},
                    'multiline': {'type': 'boolean'},
                    'secret': {'type': 'boolean'},
                    'ask_at_runtime': {'type': 'boolean'},
                    'default': {},
                },
                'additionalProperties': False,
                'required': ['id', 'label'],
            },
        },
    },
}
AWX_INJECTORS_SCHEMA = {
    'type': 'object',
    'additionalProperties': False,
    'properties': {
        'file': {'type': 'object', 'patternProperties': {r'^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$': {'type': 'string'}},
                 'additionalProperties': False},
        'env': {'type': 'object', 'patternProperties': {'^[a-zA-Z_]+[a-zA-Z0-9_]*$': {'type': 'string'}},
                'additionalProperties': False},
        'extra_vars': {'type': 'object', 'patternProperties': {'^[a-zA-Z_]+[a-zA-Z0-9_]*$': {'type': 'string'}},
                       'additionalProperties': False},
    },
}


class _UnsafeDumper(yaml.SafeDumper):
    """awx/main/utils/safe_yaml.py SafeStringDumper: every string is written as !unsafe."""

    def represent_data(self, data):
        if isinstance(data, str):
            return self.represent_scalar('!unsafe', data)
        return super(_UnsafeDumper, self).represent_data(data)


def load_credential_type(path=CREDENTIAL_TYPE):
    with open(path) as handle:
        return yaml.safe_load(handle)


def awx_extra_vars(credential_type, inputs):
    """The extra vars file AWX writes for a job with a credential of this type (CredentialType.inject_credential)."""
    fields = credential_type['inputs']['fields']
    namespace = {}
    for name, value in inputs.items():
        if isinstance(value, bool) or len(value):
            namespace[name] = value
    for field in fields:
        if field.get('type') == 'boolean' and field['id'] not in inputs:
            namespace[field['id']] = False
    sandbox = ImmutableSandboxedEnvironment()

    def render(node):
        if isinstance(node, dict):
            return dict((render(k), render(v)) for k, v in node.items())
        if isinstance(node, list):
            return [render(item) for item in node]
        return sandbox.from_string(node).render(**namespace)

    extra_vars = render(credential_type['injectors'].get('extra_vars', {}))
    return ''.join(yaml.dump_all([{k: v}], None, Dumper=_UnsafeDumper, default_flow_style=False)
                   for k, v in extra_vars.items())


class _Namespace(object):
    """AWX's ``tower`` template namespace (``tower.filename`` or ``tower.filename.<label>``)."""


def check_valid_for_awx(definition):
    """What AWX checks when a credential type is created, and its rendering of every injector with StrictUndefined.
    Returns the field ids."""
    assert definition['kind'] in ('cloud', 'net'), 'AWX accepts custom credential types of kind cloud or net only'
    assert definition['name'] and set(definition) <= {'name', 'description', 'kind', 'inputs', 'injectors'}
    jsonschema.Draft4Validator(AWX_INPUTS_SCHEMA).validate(definition['inputs'])
    jsonschema.Draft4Validator(AWX_INJECTORS_SCHEMA).validate(definition['injectors'])
    fields = definition['inputs']['fields']
    ids = [field['id'] for field in fields]
    assert len(ids) == len(set(ids)) and 'tower' not in ids
    assert set(definition['inputs']['required']) <= set(ids)
    # AWX renders every injector with all fields set and StrictUndefined: a typo in a field name fails here.
    strict = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    namespace = dict((i, 'EXAMPLE') for i in ids)
    tower = _Namespace()
    tower.filename = _Namespace()
    for label in definition['injectors'].get('file', {}):
        setattr(tower.filename, label.split('.')[1], '/runner/env/tmpEXAMPLE')
    namespace['tower'] = tower
    for kind in ('file', 'env', 'extra_vars'):
        for template in definition['injectors'].get(kind, {}).values():
            strict.from_string(template).render(namespace)
    return ids


def test_credential_type_is_valid_for_awx():
    definition = load_credential_type()
    check_valid_for_awx(definition)
    assert [f['id'] for f in definition['inputs']['fields'] if f.get('secret')] == ['client_secret']
    assert sorted(definition['injectors']['extra_vars']) == [
        'tokenops_oauth2_client_id', 'tokenops_oauth2_client_secret', 'tokenops_oauth2_token_url']


def test_shared_store_credential_type_is_valid_for_awx():
    definition = load_credential_type(STORE_CREDENTIAL_TYPE)
    check_valid_for_awx(definition)
    fields = definition['inputs']['fields']
    assert [f['id'] for f in fields if f.get('secret')] == ['cache_password', 'cache_key', 'client_key']
    # The secrets go to the private extra vars file, as the variables the collection documents; the rest to the
    # environment settings it documents.
    assert sorted(definition['injectors']['extra_vars']) == ['tokenops_oauth2_cache_key', 'tokenops_oauth2_cache_password']
    assert sorted(definition['injectors']['env']) == [
        'TOKENOPS_OAUTH2_CACHE_CA_PATH', 'TOKENOPS_OAUTH2_CACHE_CLIENT_CERT', 'TOKENOPS_OAUTH2_CACHE_CLIENT_KEY',
        'TOKENOPS_OAUTH2_CACHE_URL']


def awx_env_and_files(credential_type, inputs, private_dir):
    """The environment AWX gives the job for a credential of this type, after writing its files (0600) into
    ``private_dir`` (CredentialType.inject_credential: files first, so env templates can name them)."""
    namespace = dict((k, v) for k, v in inputs.items() if isinstance(v, bool) or len(v))
    tower = _Namespace()
    namespace['tower'] = tower
    sandbox = ImmutableSandboxedEnvironment()
    for label, template in credential_type['injectors'].get('file', {}).items():
        path = os.path.join(str(private_dir), 'env-%s' % label.replace('.', '-'))
        with open(path, 'w') as handle:
            handle.write(sandbox.from_string(template).render(**namespace))
        os.chmod(path, 0o600)
        if '.' not in label:
            tower.filename = path
        else:
            if not hasattr(tower, 'filename'):
                tower.filename = _Namespace()
            setattr(tower.filename, label.split('.')[1], path)
    return dict((name, sandbox.from_string(template).render(**namespace))
                for name, template in credential_type['injectors'].get('env', {}).items())


def test_injected_credential_runs_a_playbook(tmp_path, oidc_provider):
    client = oidc_provider.clients['cc_basic']
    inputs = dict(client_id=client['client_id'], client_secret=client['client_secret'],
                  token_url=oidc_provider.url + '/token')
    extra_vars_file = tmp_path / 'extravars'
    extra_vars_file.write_text(awx_extra_vars(load_credential_type(), inputs))
    written = extra_vars_file.read_text()
    assert "!unsafe 'tokenops_oauth2_client_secret': !unsafe 'cc-basic-secret'" in written.replace('"', "'")

    # The inventory holds the profile and refers to the injected names; the secret is nowhere in it.
    group_vars = tmp_path / 'inventory' / 'group_vars' / 'all'
    group_vars.mkdir(parents=True)
    (tmp_path / 'inventory' / 'hosts.ini').write_text(
        'localhost ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    (group_vars / 'oauth2.yml').write_text(yaml.safe_dump({'oauth2_profiles': {'api': {
        'token_url': '{{ tokenops_oauth2_token_url }}',
        'client_id': '{{ tokenops_oauth2_client_id }}',
        'client_secret': '{{ tokenops_oauth2_client_secret }}',
        'scope': 'api:read',
        'resource': 'urn:tokenops:api',
    }}}))
    result_file = tmp_path / 'result.json'
    proc = run_playbook('awx_token.yml', '-vvvv', '-i', str(tmp_path / 'inventory' / 'hosts.ini'),
                        '-e', '@%s' % extra_vars_file, '-e', 'awx_profile=api', '-e', 'awx_result_file=%s' % result_file,
                        extra_env=cache_env(tmp_path))
    assert client['client_secret'] not in proc.stdout, 'the client secret appears in the -vvvv output'
    result = json.loads(result_file.read_text())
    token = result['module']['access_token']
    assert token not in proc.stdout, 'the token appears in the -vvvv output'
    assert result['lookup']['access_token'] == token and result['lookup']['from_cache'] is True
    answer = introspect(oidc_provider, token, client)
    assert answer['active'] is True and answer['client_id'] == client['client_id']


def _builder():
    path = os.path.join(BIN_DIR, 'ansible-builder')
    if not os.path.exists(path):
        pytest.fail('ansible-builder is not installed in %s: run scripts/setup.sh (requirements-dev.txt pins it)'
                    % BIN_DIR, pytrace=False)
    return path


def _run(command, **kwargs):
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=300, check=False, **kwargs)
    assert proc.returncode == 0, '%s exited %d:\n%s' % (' '.join(command), proc.returncode, proc.stdout)
    return proc.stdout


def test_ansible_builder_context_installs_the_collection_and_its_requirements(tmp_path):
    context = tmp_path / 'context'
    _run([_builder(), 'create', '--file', EE_DEFINITION, '--context', str(context),
          '--output-filename', 'Containerfile'])
    containerfile = (context / 'Containerfile').read_text()
    with open(str(context / '_build' / 'requirements.yml')) as handle:
        galaxy = yaml.safe_load(handle)
    assert [c['name'] for c in galaxy['collections']] == ['tokenops.oauth2']
    assert 'ansible-galaxy collection install' in containerfile and '-r requirements.yml' in containerfile
    assert 'introspect.py introspect' in containerfile, 'the build would not read the collections\' requirements'
    assert 'ansible-core>=2.21,<2.22' in containerfile and '/usr/bin/python3.12' in containerfile

    # The builder stage installs what introspect.py finds in the installed collections: run that same script
    # from the context over the collection as built and installed from its tarball.
    ansible_galaxy = os.path.join(BIN_DIR, 'ansible-galaxy')
    _run([ansible_galaxy, 'collection', 'build', '--output-path', str(tmp_path / 'dist'), REPO_ROOT])
    tarball = [name for name in os.listdir(str(tmp_path / 'dist')) if name.endswith('.tar.gz')]
    _run([ansible_galaxy, 'collection', 'install', '--offline', '-p', str(tmp_path / 'installed'),
          str(tmp_path / 'dist' / tarball[0])])
    pip_file, bindep_file = tmp_path / 'requirements.txt', tmp_path / 'bindep.txt'
    _run([sys.executable, str(context / '_build' / 'scripts' / 'introspect.py'), 'introspect',
          str(tmp_path / 'installed'), '--write-pip', str(pip_file), '--write-bindep', str(bindep_file)])
    found = [line.split('#')[0].strip() for line in pip_file.read_text().splitlines() if line.strip()]
    assert all(line.endswith('# from collection tokenops.oauth2') for line in pip_file.read_text().splitlines()
               if line.strip())
    with open(os.path.join(REPO_ROOT, 'requirements.txt')) as handle:
        declared = [line.split('#')[0].strip() for line in handle if line.split('#')[0].strip()]
    assert found == declared and any(r.startswith('requests') for r in found) \
        and any(r.startswith('cryptography') for r in found) and any(r.startswith('redis') for r in found)
    assert not bindep_file.exists(), 'the collection declares no system packages'


@pytest.mark.parametrize('wrong_password', [False, True], ids=['right-password', 'wrong-password'])
def test_injected_store_credential_reaches_the_store(tmp_path, oidc_provider, redis_tls, redis_pki, wrong_password):
    """Both credentials attached to one job: the client's, and the store's (a TLS Redis wanting a client certificate,
    its files injected as AWX injects them). The job logs in to the store with the injected password (the wrong one
    is refused by name of the store and user) and never shows a secret."""
    client = oidc_provider.clients['cc_basic']
    with open(redis_pki.ca) as ca, open(redis_pki.client_cert) as cert, open(redis_pki.client_key) as key:
        store_inputs = dict(cache_url=redis_tls.url, cache_password='wrong-' + redis_tls.password if wrong_password
                            else redis_tls.password, cache_key='shared-key-for-every-job-0123456789abcdef',
                            ca=ca.read(), client_cert=cert.read(), client_key=key.read())
    store_type = load_credential_type(STORE_CREDENTIAL_TYPE)
    private_dir = tmp_path / 'private'
    private_dir.mkdir(mode=0o700)
    extra_vars_file = tmp_path / 'extravars'
    extra_vars_file.write_text(
        awx_extra_vars(load_credential_type(), dict(client_id=client['client_id'], client_secret=client['client_secret'],
                                                    token_url=oidc_provider.url + '/token'))
        + awx_extra_vars(store_type, store_inputs))
    env = dict(cache_env(tmp_path), **awx_env_and_files(store_type, store_inputs, private_dir))
    assert env['TOKENOPS_OAUTH2_CACHE_CA_PATH'].startswith(str(private_dir))

    inventory = tmp_path / 'inventory'
    (inventory / 'group_vars' / 'all').mkdir(parents=True)
    (inventory / 'hosts.ini').write_text('localhost ansible_connection=local ansible_python_interpreter=%s\n'
                                         % sys.executable)
    (inventory / 'group_vars' / 'all' / 'oauth2.yml').write_text(yaml.safe_dump({'oauth2_profiles': {'api': {
        'token_url': '{{ tokenops_oauth2_token_url }}', 'client_id': '{{ tokenops_oauth2_client_id }}',
        'client_secret': '{{ tokenops_oauth2_client_secret }}', 'scope': 'api:read', 'resource': 'urn:tokenops:api',
        'cache_fallback': 'fail'}}}))
    proc = run_playbook('awx_token.yml', '-vvvv', '-i', str(inventory / 'hosts.ini'), '-e', '@%s' % extra_vars_file,
                        '-e', 'awx_profile=api', '-e', 'awx_result_file=%s' % (tmp_path / 'result.json'),
                        extra_env=env, check=False)
    for secret in (store_inputs['cache_password'], store_inputs['cache_key'], client['client_secret'],
                   store_inputs['client_key'].splitlines()[1]):
        assert secret not in proc.stdout, 'a secret appears in the -vvvv output'
    if wrong_password:
        assert proc.returncode != 0
        assert "cannot connect to the shared token store rediss://127.0.0.1:%d/0 as ACL user 'tokenops'" \
            % redis_tls.port in proc.stdout, proc.stdout
    else:
        # Connected over TLS with the injected CA and client certificate, logged in with the injected password, and
        # sealed with the injected key: the module's token is in the store, where the lookup finds it.
        assert proc.returncode == 0, proc.stdout
        result = json.loads((tmp_path / 'result.json').read_text())
        token = result['module']['access_token']
        assert token not in proc.stdout and result['lookup']['access_token'] == token
        assert result['lookup']['from_cache'] is True
        assert introspect(oidc_provider, token, client)['active'] is True
        local = cache_env(tmp_path)['TOKENOPS_OAUTH2_CACHE_DIR']
        assert not os.path.exists(local) or not [n for n in os.listdir(local) if n.endswith('.token')], \
            'the token went to the controller cache, not to the store'
        stored = [redis_tls.admin().hget(key, 'data') for key in redis_tls.admin().scan_iter('tokenops-oauth2:t:*')]
        assert stored and not [data for data in stored if token.encode() in data]
