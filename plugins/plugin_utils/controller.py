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

from ansible.errors import AnsibleLookupError
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
STORE_OPTIONS = ('cache_url', 'cache_password', 'cache_key', 'cache_fallback', 'cache_ca_path', 'cache_client_cert',
                 'cache_client_key')
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
        data = templar.template(profiles[name])
    data = native(data) if data is not None else None
    overrides = native(overrides or {})
    name = name or INLINE_PROFILE
    return PROFILES_BUILT.get([name, data, overrides], lambda: build_profile(name, data, overrides))


def configured_cache_dir(variables):
    """The cache directory from ansible.cfg ``[tokenops_oauth2] cache_dir`` / ``TOKENOPS_OAUTH2_CACHE_DIR``.

    The lookup declares the setting; the action plugin reads it through the lookup so both agree.
    """
    lookup = lookup_loader.get(LOOKUP_NAME)
    lookup.set_options(var_options=variables, direct={})
    return lookup.get_option('cache_dir')


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


def configured_store_options(variables, templar):
    """store_options for an action plugin, read through the lookup's configuration like configured_cache_dir."""
    lookup = lookup_loader.get(LOOKUP_NAME)
    lookup.set_options(direct={})
    return store_options(dict((k, lookup.get_option(k)) for k in STORE_OPTIONS), variables, templar)


def controller_client(profile, cache_dir, warn, store=None):
    """A TokenClient with the controller cache: the shared store when cache_url is set (``store``: store_options),
    else (or when the store is down and cache_fallback is local) the file cache; none if the profile turns it off."""
    cache = None
    settings = shared_store_settings(profile, store or {})
    if settings is not None:
        # Imported here: a run without a shared store never pays for importing redis.
        from ansible_collections.tokenops.oauth2.plugins.plugin_utils.shared_cache import open_shared_cache
        cache = open_shared_cache(profile, settings, warn)
    if cache is None:
        cache = file_cache(profile, cache_directory(profile, cache_dir), warn)
    return TokenClient(profile, cache=cache, warn=warn)


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


def as_ansible_error(exc):
    """An engine error as the error a lookup raises: the message only, no traceback. AnsibleLookupError, because
    ansible-core before 2.19 reports any other error of a lookup as "An unhandled exception occurred ... Error was
    a <class 'ansible.errors.AnsibleError'>", which shows the operator an exception type for an expected failure."""
    if isinstance(exc, OAuth2Error):
        return AnsibleLookupError(str(exc))
    return exc
