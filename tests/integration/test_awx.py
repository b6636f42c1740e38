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


def load_credential_type():
    with open(CREDENTIAL_TYPE) as handle:
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


def test_credential_type_is_valid_for_awx():
    definition = load_credential_type()
    assert definition['kind'] in ('cloud', 'net'), 'AWX accepts custom credential types of kind cloud or net only'
    assert definition['name'] and set(definition) <= {'name', 'description', 'kind', 'inputs', 'injectors'}
    jsonschema.Draft4Validator(AWX_INPUTS_SCHEMA).validate(definition['inputs'])
    jsonschema.Draft4Validator(AWX_INJECTORS_SCHEMA).validate(definition['injectors'])

    fields = definition['inputs']['fields']
    ids = [field['id'] for field in fields]
    assert len(ids) == len(set(ids)) and 'tower' not in ids
    assert set(definition['inputs']['required']) <= set(ids)
    assert [f['id'] for f in fields if f.get('secret')] == ['client_secret']
    # AWX renders every injector with all fields set and StrictUndefined: a typo in a field name fails here.
    strict = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    for template in definition['injectors']['extra_vars'].values():
        strict.from_string(template).render(dict((i, 'EXAMPLE') for i in ids))
    assert sorted(definition['injectors']['extra_vars']) == [
        'tokenops_oauth2_client_id', 'tokenops_oauth2_client_secret', 'tokenops_oauth2_token_url']


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
        and any(r.startswith('cryptography') for r in found)
    assert not bindep_file.exists(), 'the collection declares no system packages'
