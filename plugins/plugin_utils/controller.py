# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side glue shared by the lookup and the action plugins: profile resolution and the cache location.

This is the one place that knows where profiles live (``oauth2_profiles`` in the host's variables) and how the
cache directory and the shared store are configured; the engine in module_utils knows neither.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible.errors import AnsibleError, AnsibleLookupError
from ansible.plugins.loader import lookup_loader

from ansible_collections.tokenops.oauth2.plugins.module_utils.cache import TokenCache
from ansible_collections.tokenops.oauth2.plugins.module_utils.client import TokenClient
from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import OAuth2Error, ProfileError
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import PROFILE_OPTIONS, build_profile
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.compat import native
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.memo import Memo
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.store_settings import shared_store_settings

PROFILES_VAR = 'oauth2_profiles'
INLINE_PROFILE = '(inline)'
LOOKUP_NAME = 'tokenops.oauth2.token'
# The shared store's plugin settings (doc fragment tokenops.oauth2.shared_store), and the two secrets among them that
# may come from an inventory variable.
STORE_OPTIONS = ('cache_url', 'cache_password', 'cache_key', 'cache_key_file', 'cache_fallback', 'cache_ca_path',
                 'cache_client_cert', 'cache_client_key')
STORE_VARIABLES = dict(cache_password='tokenops_oauth2_cache_password', cache_key='tokenops_oauth2_cache_key')
# A Profile is built from its templated data alone and never changed after: the same data gives the same Profile.
PROFILES_BUILT = Memo()


def default_cache_dir():
    return os.path.join(os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'), 'tokenops-oauth2')


def cache_directory(profile, setting=None):
    """The controller token cache directory of ``profile``: the profile's own cache_dir, else ``setting`` (the plugin
    setting: the lookup's cache_dir option from its keyword, ansible.cfg or the environment; for an action plugin,
    configured_cache_dir), else $XDG_CACHE_HOME/tokenops-oauth2. The one rule of the lookup and the action plugins.

    The module on a managed host (fetch_on=host) keeps a cache only in the profile's own cache_dir: neither the
    controller's setting nor its home directory means anything there.
    """
    return profile.get('cache_dir') or setting or default_cache_dir()


def file_cache(profile, directory, warn=None):
    """The token cache of ``profile`` in ``directory`` (cache_directory's answer), or None when the profile turns its
    cache off (cache: false)."""
    if not profile.get('cache'):
        return None
    return TokenCache(directory, warn=warn, profile_name=profile.name)


def profile_overrides(options):
    """The profile options among a plugin's options (None = not given)."""
    return dict((k, v) for k, v in options.items() if k in PROFILE_OPTIONS and v is not None)


def resolve_profile(name, variables, templar, overrides=None):
    """Build the validated Profile ``name`` from ``oauth2_profiles`` in ``variables``, overrides merged over it.

    Only the named profile is templated, so another profile's undefined or undecryptable secret cannot break this
    one. Vaulted values are decrypted here, on the controller.
    """
    data = None
    if name is not None and not isinstance(name, str):
        raise ProfileError('a profile name must be a string, got a %s' % type(name).__name__, profile=INLINE_PROFILE,
                           hint='name one profile of %s, or give the options inline' % PROFILES_VAR)
    if name and name != INLINE_PROFILE:
        profiles = variables.get(PROFILES_VAR)
        if isinstance(profiles, str):
            profiles = templar.template(profiles)
        if not isinstance(profiles, dict):
            raise ProfileError("no variable '%s' (a mapping of profile names to profiles) is defined for this host"
                               % PROFILES_VAR, profile=name, hint='define it in group_vars, or give the options inline')
        if name not in profiles:
            raise ProfileError("no such profile in %s; defined: %s" % (
                PROFILES_VAR, ', '.join(sorted(str(k) for k in profiles)) or 'none'), profile=name)
        data = template_data(templar, profiles[name])
    data = native(data) if data is not None else None
    overrides = native(overrides or {})
    name = name or INLINE_PROFILE
    return PROFILES_BUILT.get([name, data, overrides], lambda: build_profile(name, data, overrides))


PLAIN_SCALARS = (bool, int, float, type(None))


def _holds_template(templar, data):
    """Whether templating ``data`` could change it: a string (key or value) that may hold a template, or a value of
    any type but the plain ones (a vaulted value, say), which only templating knows how to turn into plain data."""
    if isinstance(data, str):
        return templar.is_possibly_template(data)
    if isinstance(data, dict):
        return any(_holds_template(templar, k) or _holds_template(templar, v) for k, v in data.items())
    if isinstance(data, list):
        return any(_holds_template(templar, v) for v in data)
    return not isinstance(data, PLAIN_SCALARS)


def template_data(templar, data):
    """``data`` templated. Plain data comes back as it is without asking the templar, which would change nothing and
    costs more than the rest of a cache hit (ansible-core 2.19 builds its lazy containers for every mapping, also for
    one without a template): a template that calls the lookup a thousand times would pay for it a thousand times."""
    return templar.template(data) if _holds_template(templar, data) else data


def configured_settings():
    """The controller settings from ansible.cfg and the environment: ``cache_dir`` (``[tokenops_oauth2] cache_dir`` /
    ``TOKENOPS_OAUTH2_CACHE_DIR``) and the shared store's STORE_OPTIONS, as a mapping.

    The lookup declares the settings; the action plugins read them through the lookup so both agree. None of them
    comes from host variables (the store secrets that may are read by store_options).
    """
    lookup = lookup_loader.get(LOOKUP_NAME)
    lookup.set_options(direct={})
    return dict((k, lookup.get_option(k)) for k in ('cache_dir',) + STORE_OPTIONS)


def configured_cache_dir(variables=None):
    """The cache directory of configured_settings."""
    return configured_settings()['cache_dir']


def store_options(options, variables, templar, direct=()):
    """The plugin-level shared store settings (STORE_OPTIONS): ``options`` as the lookup's configuration resolved
    them (keyword, environment, ansible.cfg), and the secrets of STORE_VARIABLES from the host's variables, templated
    like a profile (so a vaulted value or a reference to one works). A variable wins over the environment, a keyword
    (``direct``) over both, as Ansible ranks its own sources."""
    settings = dict((k, options.get(k)) for k in STORE_OPTIONS)
    for option, variable in STORE_VARIABLES.items():
        if option not in direct and variables.get(variable) is not None:
            settings[option] = native(templar.template(variables[variable]))
    return settings


def configured_store_options(variables, templar, settings=None):
    """store_options for an action plugin, from configured_settings (``settings``, read now when not given)."""
    return store_options(settings or configured_settings(), variables, templar)


def prepare_for_forks():
    """Load the token lookup, its engine and its configuration, and run the cache's cryptography once, in this process.

    For the parent process of ansible-playbook, which forks a worker for every host and task: whatever the parent has
    loaded, the workers inherit, instead of each importing the engine again, reading the lookup's documentation for
    its configuration, and paying OpenSSL's first-use costs. The token action plugin calls this when the parent
    imports it (the strategies load a task's action plugin class before forking its workers, to read
    BYPASS_HOST_LOOP); the callback tokenops.oauth2.preload does it at the start of a run, for plays that only use the
    lookup. Only code, documentation and throwaway key material: no profile, variable or secret. A failure is left for
    the worker to report, where it has a task to report it against.
    """
    try:
        lookup_loader.get(LOOKUP_NAME, class_only=True)
        TokenCache.warm_up()
    except Exception:  # pylint: disable=broad-except
        pass


def controller_client(profile, cache_dir, warn, store=None, keep_refresh_token=None):
    """A TokenClient with the controller cache: the shared store when cache_url is set (``store``: store_options),
    else (or when the store is down and cache_fallback is local) the file cache; none if the profile turns it off.
    ``keep_refresh_token``: a RefreshTokenWriteBack (or None), see TokenClient."""
    directory = cache_directory(profile, cache_dir)
    settings = shared_store_settings(profile, store or {})
    if settings is not None:
        # Imported here: a run without a shared store never pays for importing redis.
        from ansible_collections.tokenops.oauth2.plugins.plugin_utils.shared_cache import open_shared_cache
        cache = open_shared_cache(profile, settings, warn, lambda: TokenCache(directory, warn=warn,
                                                                              profile_name=profile.name))
    else:
        cache = file_cache(profile, directory, warn)
    return TokenClient(profile, cache=cache, warn=warn, keep_refresh_token=keep_refresh_token)


def inventory_directory(variables):
    """The directory of the host's inventory (where relative vars file paths start), else the current one."""
    if variables.get('inventory_dir'):
        return variables['inventory_dir']
    sources = variables.get('ansible_inventory_sources') or []
    if sources and isinstance(sources[0], str) and os.path.exists(sources[0]):
        return sources[0] if os.path.isdir(sources[0]) else os.path.dirname(os.path.abspath(sources[0]))
    return os.getcwd()


def default_refresh_token_var(profile_name):
    """vault_<profile>_refresh_token, as the onboard playbook stores it."""
    return 'vault_%s_refresh_token' % re.sub('[^A-Za-z0-9_]', '_', profile_name)


def refresh_token_store(profile, variables, path=None):
    """Where the refresh token of ``profile`` is kept (``path``, ``var``), or None when nowhere.

    The onboard playbook stores the first refresh token there; writing each rotated one back keeps the next run
    working when the controller cache is gone (a fresh AWX job container, a new controller). ``path``, when given,
    replaces the profile's refresh_token_vars_file and, relative, is relative to the current directory (a path given
    on the command line, like the onboard playbook's store_path); the profile's own is relative to the inventory.
    """
    if path:
        path = os.path.abspath(path)
    else:
        path = profile.get('refresh_token_vars_file')
        if not path:
            return None
        if not os.path.isabs(path):
            path = os.path.join(inventory_directory(variables), path)
    return dict(path=path, var=profile.get('refresh_token_var') or default_refresh_token_var(profile.name))


def refresh_token_settings(profile, store, variables):
    """The profile keys that make ``profile`` renew unattended with the refresh token kept at ``store`` (as
    refresh_token_store returns it), in the order to show them: what the onboard playbook tells the operator to add.

    refresh_token_vars_file is relative to the inventory directory when the file lies under it, so that the
    inventory can move; refresh_token_store reads the keys back to the same ``store``.
    """
    settings = dict(grant_type='refresh_token', refresh_token='{{ %s }}' % store['var'])
    relative = os.path.relpath(store['path'], inventory_directory(variables))
    outside = relative == os.pardir or relative.startswith(os.pardir + os.sep)
    settings['refresh_token_vars_file'] = store['path'] if outside else relative
    if store['var'] != default_refresh_token_var(profile.name):
        settings['refresh_token_var'] = store['var']
    return settings


class RefreshTokenWriteBack(object):
    """TokenClient's ``keep_refresh_token`` for a profile with a ``refresh_token_vars_file``: writes each refresh
    token it is given there, vault-encrypted with the run's vault secrets, before the token is handed out; the one
    way the lookup and the token action (hence the deliver role) write a rotated refresh token back.

    A failure does not fail the token: the cache already holds the refresh token (or, without a cache, the token in
    hand is all there is), so the access token is handed out and the failure reported: a warning, and ``outcome``
    (``path``, ``var``, ``changed`` or ``error``) in the token action's result, which the deliver role's summary
    reports as failed. The next run that finds the cache's refresh token differs from the profile's writes it again.
    """

    def __init__(self, profile, location, secrets, warn, cached=True):
        self.profile = profile
        self.path, self.var = location['path'], location['var']
        self.vault_secrets = secrets
        self.warn = warn
        self.cached = cached
        self.outcome = None

    def __call__(self, token, newest=None):
        self.write(token.refresh_token, newest)

    def write(self, refresh_token, newest=None):
        """Write ``refresh_token`` back; or, given ``newest`` (see TokenClient), what it returns under the file's
        lock, when it returns one."""
        from ansible_collections.tokenops.oauth2.plugins.plugin_utils.vault_file import set_vaulted_variable
        from ansible_collections.tokenops.oauth2.plugins.plugin_utils.vars_yaml import VarsFileError
        memo_key = (self.path, self.var, refresh_token)
        if memo_key in WRITTEN_BACK:
            self.outcome = dict(path=self.path, var=self.var, changed=False)
            return
        try:
            changed = set_vaulted_variable(self.path, self.var, lambda: (newest and newest()) or refresh_token,
                                           self.vault_secrets)
        except (VarsFileError, OSError, AnsibleError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else '%s' % exc
            self.outcome = dict(path=self.path, var=self.var, error=reason)
            self.warn("profile '%s': the rotated refresh token could not be written back to %s (%s): %s; %s" % (
                self.profile.name, self.path, self.var, reason,
                'the token cache holds it, and a later run writes it back once it can' if self.cached else
                'no cache holds it either (cache: false): authorize again (playbook tokenops.oauth2.onboard) if the '
                'next run is refused'))
            return
        if len(WRITTEN_BACK) >= 64:
            WRITTEN_BACK.clear()
        WRITTEN_BACK.add(memo_key)
        self.outcome = dict(path=self.path, var=self.var, changed=changed)


WRITTEN_BACK = set()  # (path, var, refresh token) this process wrote or found there: checked once a process


def vault_secrets(loader):
    """The vault secrets the run was started with (NOTES.md: from an action plugin or a lookup's loader)."""
    return list(getattr(getattr(loader, '_vault', None), 'secrets', None) or [])


def refresh_token_write_back(profile, variables, secrets, warn):
    """The RefreshTokenWriteBack for ``profile``, or None when it names no refresh_token_vars_file."""
    location = refresh_token_store(profile, variables)
    if location is None:
        return None
    return RefreshTokenWriteBack(profile, location, secrets, warn, cached=bool(profile.get('cache')))


def as_ansible_error(exc):
    """An engine error as the error a lookup raises: the message only, no traceback. AnsibleLookupError, because
    ansible-core before 2.19 reports any other error of a lookup as "An unhandled exception occurred ... Error was
    a <class 'ansible.errors.AnsibleError'>", which shows the operator an exception type for an expected failure."""
    if isinstance(exc, OAuth2Error):
        return AnsibleLookupError(str(exc))
    return exc
