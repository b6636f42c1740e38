# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Provider profiles: the options, their validation, and the merge of preset, inventory data and task overrides.

A profile is validated as a whole before any request is sent, so that a typo or a missing secret is reported with
the profile's name and the key at fault instead of as a server's 400.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import keyword
import math
import re
import string

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import ProfileError
from ansible_collections.tokenops.oauth2.plugins.module_utils.presets import PRESETS
from ansible_collections.tokenops.oauth2.plugins.module_utils.url_rules import HTTP_SCHEMES, url_problem, without_userinfo

GRANT_TYPES = ('client_credentials', 'password', 'authorization_code', 'refresh_token')
CLIENT_AUTH_METHODS = ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none')

# One spec serves the module's argument_spec and the controller-side validation of lookup and action plugin.
# No defaults here: a preset may set a value, and only what the operator did not set may be filled in by it.
PROFILE_OPTIONS = dict(
    preset=dict(type='str', choices=sorted(PRESETS)),
    token_url=dict(type='str', no_log=False),
    issuer=dict(type='str'),
    authorization_url=dict(type='str'),
    device_authorization_url=dict(type='str'),
    introspection_url=dict(type='str'),
    # The client that introspects, where the server lets only a resource server do it (else the profile's own).
    introspection_client_id=dict(type='str'),
    introspection_client_secret=dict(type='str', no_log=True),
    introspection_client_auth=dict(type='str', choices=['client_secret_basic', 'client_secret_post']),
    revocation_url=dict(type='str'),
    grant_type=dict(type='str', choices=list(GRANT_TYPES)),
    client_id=dict(type='str'),
    client_secret=dict(type='str', no_log=True),
    client_auth=dict(type='str', choices=list(CLIENT_AUTH_METHODS)),
    basic_encoding=dict(type='str', choices=['form', 'raw']),
    client_assertion_key=dict(type='path', no_log=False),
    client_assertion_kid=dict(type='str'),
    client_assertion_alg=dict(type='str', choices=['RS256', 'ES256']),
    scope=dict(type='raw'),
    audience=dict(type='str'),
    resource=dict(type='raw'),
    username=dict(type='str'),
    password=dict(type='str', no_log=True),
    refresh_token=dict(type='str', no_log=True),
    code=dict(type='str', no_log=True),
    redirect_uri=dict(type='str'),
    code_verifier=dict(type='str', no_log=True),
    # Free-form: may carry an API key or a client assertion, so never echoed.
    extra_params=dict(type='dict', no_log=True),
    headers=dict(type='dict', no_log=True),
    timeout=dict(type='float'),
    retries=dict(type='int'),
    deadline=dict(type='float'),
    validate_certs=dict(type='bool'),
    ca_path=dict(type='path'),
    client_cert=dict(type='path'),
    client_key=dict(type='path'),
    allow_insecure_http=dict(type='bool'),
    renew_before=dict(type='int'),
    default_ttl=dict(type='int'),
    validate_url=dict(type='str'),
    refresh_token_vars_file=dict(type='path'),
    refresh_token_var=dict(type='str', no_log=False),
    cache=dict(type='bool'),
    cache_dir=dict(type='path'),
    # The shared token store (controller only; plugins/plugin_utils/store_settings.py checks them before any use).
    cache_url=dict(type='str'),
    cache_fallback=dict(type='str', choices=['local', 'fail']),
    # Preset inputs.
    base_url=dict(type='str'),
    api_url=dict(type='str'),
    realm=dict(type='str'),
    region=dict(type='str'),
    environment=dict(type='str'),
    tower_id=dict(type='str'),
)

PROFILE_DEFAULTS = dict(
    grant_type='client_credentials',
    client_auth='client_secret_basic',
    basic_encoding='form',
    timeout=10.0,
    retries=3,
    deadline=60.0,
    validate_certs=True,
    allow_insecure_http=False,
    default_ttl=300,
    cache=True,
)

SECRET_OPTIONS = tuple(sorted(k for k, v in PROFILE_OPTIONS.items() if v.get('no_log')))

# What a cache entry is told apart by (Profile.identity): whom the token is for, and how it is asked for. The
# secret ones (the subject's credential, and free-form options that may carry an account's API key) as keyed hashes.
# Not the configured refresh_token: a rotating server retires it on first use and each rotated one is written back to
# the profile, so it changes from run to run while the subject stays; TokenClient tells subjects apart by the chain
# of refresh tokens an entry has held instead.
IDENTITY_OPTIONS = ('token_url', 'issuer', 'client_id', 'client_auth', 'grant_type', 'scope', 'audience', 'resource',
                    'username')
IDENTITY_SECRETS = ('code', 'password', 'extra_params', 'headers')
# The resource server's credentials for introspection: id and secret go together, the method is optional.
INTROSPECTION_CLIENT_OPTIONS = ('introspection_client_id', 'introspection_client_secret', 'introspection_client_auth')

# What a grant needs besides client_id (and client_secret unless client_auth is none).
GRANT_REQUIRES = {
    'client_credentials': (),
    'password': ('username', 'password'),
    'authorization_code': ('code', 'redirect_uri'),
    'refresh_token': ('refresh_token',),
}


class Profile(object):
    """A validated profile: its name, its options (defaults applied) and the warnings its validation raised."""

    def __init__(self, name, options, warnings=None):
        self.name = name
        self.options = options
        self.warnings = list(warnings or [])

    def __getitem__(self, key):
        return self.options[key]

    def get(self, key, default=None):
        value = self.options.get(key)
        return default if value is None else value

    def secret_values(self):
        """Every secret this profile holds, for redaction of server text and logs."""
        values = []
        for key in SECRET_OPTIONS:
            value = self.options.get(key)
            if isinstance(value, dict):
                values.extend(str(v) for v in value.values() if v)
            elif value:
                values.append(str(value))
        return values

    def identity(self, keyed_hash):
        """Everything that decides whom a token is for and what it grants: what tells one cache entry from another.

        The profile's name is part of it, so two profiles never share an entry, however alike (one client, two
        customer accounts): a token, and above all a held refresh token, serves only the profile it was issued to.
        Secret options enter only as ``keyed_hash(value)`` (an HMAC under the cache's master key, see
        cache.CacheKeys), so an identity tells them apart without holding them. The client's own secret is not
        here: it keys the entry's encryption instead. Nor is the configured refresh token (see IDENTITY_SECRETS).
        """
        identity = dict((key, self.get(key)) for key in IDENTITY_OPTIONS)
        identity['profile'] = self.name
        for key in IDENTITY_SECRETS:
            value = self.get(key)
            identity[key] = keyed_hash(value) if value else None
        return identity


def _suggest(key, candidates):
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    return " (did you mean '%s'?)" % close[0] if close else ''


def describe_unknown(keys, candidates):
    """The unknown KEYS for a message, each with the closest of CANDIDATES: 'scop' (did you mean 'scope'?), 'x'."""
    return ', '.join("'%s'%s" % (k, _suggest(k, list(candidates))) for k in sorted(keys))


def _check_unknown_keys(name, data):
    unknown = [k for k in data if k not in PROFILE_OPTIONS]
    if unknown:
        raise ProfileError('unknown key %s; valid keys are listed by ansible-doc tokenops.oauth2.token'
                           % describe_unknown(unknown, PROFILE_OPTIONS), profile=name)


def _template_fields(value):
    return [parsed[1] for parsed in string.Formatter().parse(value) if parsed[1]]


def _fill(name, preset_name, key, value, options):
    """Fill ``{option}`` references in a preset value from the profile."""
    if not isinstance(value, str) or '{' not in value:
        return value
    missing = [f for f in _template_fields(value) if not options.get(f)]
    if missing:
        raise ProfileError("preset '%s' needs '%s' to build %s" % (preset_name, missing[0], key), profile=name)
    return value.format(**dict((f, str(options[f]).rstrip('/')) for f in _template_fields(value)))


def _preset_environment(name, preset_name, preset, options):
    derive = preset.get('environment_from')
    environment = options.get('environment')
    derived = None
    if derive and options.get(derive['option']):
        source = str(options[derive['option']])
        derived = next((env for prefix, env in derive['prefixes'].items() if source.startswith(prefix)), None)
        if derived is None:
            raise ProfileError(
                "%s '%s' does not start with %s, so its environment is unknown" % (
                    derive['option'], source, ' or '.join(
                        "'%s' (%s)" % (p, e) for p, e in sorted(derive['prefixes'].items()))),
                profile=name, hint='check the %s, or set environment explicitly' % derive['option'])
    if environment and derived and environment != derived:
        raise ProfileError("environment '%s' contradicts %s '%s', which is a %s tower" % (
            environment, derive['option'], options[derive['option']], derived), profile=name)
    environment = environment or derived
    if environment is None:
        raise ProfileError("preset '%s' needs 'environment' (%s) or '%s'" % (
            preset_name, ' or '.join(sorted(preset['environments'])), derive['option']), profile=name)
    if environment not in preset['environments']:
        raise ProfileError("unknown environment '%s' for preset '%s'; choose %s" % (
            environment, preset_name, ' or '.join(sorted(preset['environments']))), profile=name)
    return preset['environments'][environment]


def apply_preset(name, options):
    """Return options with the preset's values filled in wherever the operator left them unset."""
    preset_name = options.get('preset')
    if not preset_name:
        return options
    preset = PRESETS.get(preset_name)
    if preset is None:
        raise ProfileError("unknown preset '%s'%s; presets: %s" % (
            preset_name, _suggest(preset_name, list(PRESETS)), ', '.join(sorted(PRESETS))), profile=name)
    merged = dict(options)
    if 'environments' in preset:
        for key, value in _preset_environment(name, preset_name, preset, options).items():
            if merged.get(key) is None:
                merged[key] = value
    # Plain values first, so that templates can refer to them (base_url before token_url).
    ordered = sorted(preset['defaults'].items(), key=lambda kv: '{' in str(kv[1]))
    for key, value in ordered:
        if merged.get(key) is None:
            merged[key] = _fill(name, preset_name, key, value, merged)
    for key, allowed in preset.get('choices', {}).items():
        for item in scope_list(merged.get(key)):
            if item not in allowed:
                raise ProfileError("%s '%s' is not offered by preset '%s'; choose %s" % (
                    key, item, preset_name, ' or '.join(allowed)), profile=name)
    return merged


def scope_list(scope):
    """A scope given as a space-separated string or a list, as a list."""
    if scope is None:
        return []
    if isinstance(scope, str):
        return scope.split()
    return [str(s) for s in scope]


def _normalise_scope(name, scope):
    if scope is None or isinstance(scope, str):
        return ' '.join(scope.split()) if scope else None
    if isinstance(scope, (list, tuple)):
        bad = [s for s in scope if not isinstance(s, str) or not s or ' ' in s]
        if bad:
            raise ProfileError('scope items must be non-empty strings without spaces, got %r' % (bad[0],),
                               profile=name)
        return ' '.join(scope) or None
    raise ProfileError('scope must be a string or a list of strings, got %s' % type(scope).__name__, profile=name)


def _normalise_resource(name, resource):
    if resource is None or isinstance(resource, str):
        return resource or None
    if isinstance(resource, (list, tuple)) and all(isinstance(r, str) for r in resource):
        return list(resource) or None
    raise ProfileError('resource must be a URI or a list of URIs', profile=name)


def _check_requirements(name, options):
    if not (options.get('token_url') or options.get('issuer')):
        raise ProfileError("no 'token_url' (or 'issuer' for discovery) and no preset that sets one", profile=name,
                           hint="set token_url, issuer or preset")
    if not options.get('client_id'):
        raise ProfileError("missing 'client_id'", profile=name)
    if options['client_auth'] == 'private_key_jwt':
        if not options.get('client_assertion_key'):
            raise ProfileError("client_auth private_key_jwt needs 'client_assertion_key' (a PEM private key file)",
                               profile=name)
    elif options['client_auth'] != 'none' and not options.get('client_secret'):
        raise ProfileError("missing 'client_secret' (client_auth is %s)" % options['client_auth'], profile=name,
                           hint="set client_secret, or client_auth: none for a public client")
    introspection_client = [k for k in INTROSPECTION_CLIENT_OPTIONS if options.get(k)]
    if introspection_client and not all(options.get(k) for k in INTROSPECTION_CLIENT_OPTIONS[:2]):
        missing = [k for k in INTROSPECTION_CLIENT_OPTIONS[:2] if not options.get(k)]
        raise ProfileError("%s needs %s" % (introspection_client[0], ' and '.join("'%s'" % k for k in missing)),
                           profile=name, hint='introspection_client_id and introspection_client_secret name the '
                                              'client (a resource server) that introspects tokens; set both or neither')
    grant = options['grant_type']
    missing = [k for k in GRANT_REQUIRES[grant] if not options.get(k)]
    if missing:
        raise ProfileError("grant_type %s needs %s" % (grant, ' and '.join("'%s'" % k for k in missing)),
                           profile=name)
    for key in ('timeout', 'deadline'):
        if options[key] <= 0:
            raise ProfileError("'%s' must be greater than 0" % key, profile=name)
    for key in ('retries', 'default_ttl'):
        if options[key] < 0:
            raise ProfileError("'%s' must not be negative" % key, profile=name)
    if options.get('renew_before') is not None and options['renew_before'] < 0:
        raise ProfileError("'renew_before' must not be negative", profile=name)


URL_OPTIONS = ('token_url', 'issuer', 'authorization_url', 'device_authorization_url', 'introspection_url',
               'revocation_url', 'validate_url', 'base_url', 'api_url')
# Upper bounds that no real profile reaches: beyond them a value is a typo, and some would overflow later.
INT_LIMITS = dict(retries=100, renew_before=10 * 365 * 86400, default_ttl=10 * 365 * 86400)
FLOAT_LIMITS = dict(timeout=86400.0, deadline=7 * 86400.0)
# An Ansible variable name (what ansible.utils.vars.isidentifier accepts, which module_utils cannot import).
VARIABLE_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*\Z')
# An RFC 9110 token (header names, authentication schemes). \Z, not $: $ would also match before a final newline.
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")


def number_text(value):
    """A number for a message. str() of an int over 4,300 digits raises ValueError (Python's conversion limit)."""
    if isinstance(value, float):
        return '%g' % value
    if abs(value) < 10 ** 30:
        return str(value)
    return 'a larger number' if value > 0 else 'a smaller number'


def _check_url(name, key, value, schemes=HTTP_SCHEMES):
    """A URL option must be an absolute http(s) URL without credentials (plain http is refused later, off
    loopback). The message shows the URL without its credentials."""
    problem = url_problem(value, schemes)
    if problem:
        shown = without_userinfo(value)
        shown = shown if len(shown) <= 80 else shown[:77] + '...'
        raise ProfileError("'%s' %s, got %r" % (key, problem, shown), profile=name)


def _check_values(name, options):
    """What the argument spec cannot say: URL syntax, header encoding, bounds, and no NUL in a path."""
    for key in URL_OPTIONS:
        if options.get(key):
            _check_url(name, key, options[key])
    if options.get('redirect_uri'):  # any scheme: a paste-flow client may have a private-use one (RFC 8252 7.1)
        _check_url(name, 'redirect_uri', options['redirect_uri'], schemes=None)
    for key, limit in list(INT_LIMITS.items()) + list(FLOAT_LIMITS.items()):
        value = options.get(key)
        # No math.isfinite on an int: a 10,000-digit int does not convert to float.
        if value is not None and ((isinstance(value, float) and not math.isfinite(value)) or value > limit):
            raise ProfileError("'%s' must be at most %s, got %s" % (key, limit, number_text(value)), profile=name)
    for header, value in (options.get('headers') or {}).items():
        # http.client sends header values as latin-1 and names as ASCII; CR or LF would split the header.
        if not HEADER_NAME.match(str(header)):
            raise ProfileError("header name %r is not a valid HTTP header name" % (str(header)[:40],), profile=name)
        text = str(value)
        try:
            text.encode('latin-1')
        except UnicodeEncodeError:
            raise ProfileError("the value of header '%s' has characters HTTP cannot carry (only Latin-1)" % header,
                               profile=name)
        if '\r' in text or '\n' in text or '\0' in text:
            raise ProfileError("the value of header '%s' must be one line" % header, profile=name)
    var = options.get('refresh_token_var')
    if var and (not VARIABLE_NAME.match(var) or keyword.iskeyword(var)):
        # It is written into a vars file and referred to as {{ var }} in the profile.
        raise ProfileError("'refresh_token_var' must be an Ansible variable name (ASCII letters, digits and _, not "
                           "starting with a digit), got %r" % (var if len(var) <= 80 else var[:77] + '...',),
                           profile=name)
    for key, spec in PROFILE_OPTIONS.items():
        if spec['type'] == 'path' and options.get(key) and '\0' in options[key]:
            raise ProfileError("'%s' holds a NUL byte" % key, profile=name)


def build_profile(name, data=None, overrides=None):
    """Merge inventory data and task overrides, apply the preset and the defaults, and validate.

    ``overrides`` wins over ``data`` key by key; a ``None`` override means "not given".
    """
    if data is not None and not isinstance(data, dict):
        raise ProfileError('a profile must be a mapping of options, got %s' % type(data).__name__, profile=name)
    options = dict(data or {})
    options.update((k, v) for k, v in (overrides or {}).items() if v is not None)
    _check_unknown_keys(name, options)

    # ansible-core's int check raises OverflowError on inf instead of reporting it; catch it before it does.
    for key, value in sorted(options.items()):
        if isinstance(value, float) and not math.isfinite(value):
            raise ProfileError("'%s' must be a finite number, got %s" % (key, value), profile=name)
        # ansible's str conversion would turn a list into its repr ("['a', 'b']") and send that.
        if PROFILE_OPTIONS[key]['type'] in ('str', 'path') and isinstance(value, (list, tuple, dict)):
            raise ProfileError("'%s' must be a string, got a %s" % (key, 'mapping' if isinstance(value, dict) else 'list'),
                               profile=name)
    result = ArgumentSpecValidator(PROFILE_OPTIONS).validate(options)
    if result.error_messages:
        raise ProfileError('; '.join(result.error_messages), profile=name)
    options = dict((k, v) for k, v in result.validated_parameters.items() if v is not None)
    _check_values(name, options)

    options = apply_preset(name, options)
    for key, value in PROFILE_DEFAULTS.items():
        options.setdefault(key, value)
    options['scope'] = _normalise_scope(name, options.get('scope'))
    options['resource'] = _normalise_resource(name, options.get('resource'))
    _check_requirements(name, options)

    warnings = []
    if options['grant_type'] == 'password':
        warnings.append("profile '%s' uses the password grant, which RFC 9700 (OAuth 2.0 Security BCP) says must "
                        "not be used; prefer client_credentials or authorization_code where the provider offers "
                        "them" % name)
    return Profile(name, options, warnings)
