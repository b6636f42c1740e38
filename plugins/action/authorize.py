# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for tokenops.oauth2.authorize: the first authorization of a profile, on the controller.

The person authorizing sees the authorization URL or the user code (Display, not the result); the result holds
the tokens, so its display is censored while the registered variable keeps them. Storing the refresh token is the
next task's job (tokenops.oauth2.vault_vars, as the onboard playbook does): one concern per plugin, and the write
stays visible in the playbook with its own check mode and diff. Where it belongs is this plugin's answer
(refresh_token_store, from plugin_utils.controller, the one rule the token plugin and the deliver role follow too);
in check mode that answer, and the checks of the profile and its endpoints, are all the task does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.utils.display import Display

from ansible_collections.tokenops.oauth2.plugins.module_utils.argspecs import AUTHORIZE_OPTIONS
from ansible_collections.tokenops.oauth2.plugins.module_utils.authorization import (
    PENDING_MAX_AGE, AuthorizationError, PendingAuthorizations, exchange_code, new_request, parse_redirect)
from ansible_collections.tokenops.oauth2.plugins.module_utils.client import TokenClient
from ansible_collections.tokenops.oauth2.plugins.module_utils.device_flow import (
    poll_for_token, request_device_authorization)
from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import ProfileError
from ansible_collections.tokenops.oauth2.plugins.module_utils.loopback import LoopbackListener, loopback_redirect
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import number_text
from ansible_collections.tokenops.oauth2.plugins.module_utils.transport import Transport
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.action_module import ActionModuleBase
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.controller import (
    cache_directory, configured_cache_dir, file_cache, refresh_token_settings, refresh_token_store, resolve_profile)
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.onboarding import next_steps, open_in_browser

# What the argument spec cannot say: bind() takes a port up to 65535, and no one takes a day to approve in a browser
# (a timeout beyond about 292 years would overflow the wait).
TASK_RANGES = dict(listen_timeout=(1, 86400), loopback_port=(0, 65535))

display = Display()


def show(text):
    """Tell the person authorizing what to do. On stderr, which is not buffered: a URL stuck in a pipe's buffer
    (ansible-playbook ... | tee log) would leave them waiting for nothing."""
    display.display(text, stderr=True)


class ActionModule(ActionModuleBase):
    TRANSFERS_FILES = False
    _requires_connection = False  # everything happens on the controller
    _supports_check_mode = True  # checks the profile and says where the refresh token goes; authorizes nothing
    ARGUMENT_SPEC = AUTHORIZE_OPTIONS
    TAKES_PROFILE_OPTIONS = True

    def run_action(self, task, task_vars, result):
        for key, (low, high) in TASK_RANGES.items():
            if task[key] is not None and not low <= task[key] <= high:
                raise ProfileError("'%s' must be between %d and %d, got %s" % (key, low, high, number_text(task[key])))
        if task['store_path'] and '\0' in task['store_path']:
            raise ProfileError("'store_path' holds a NUL byte")
        # The flow decides the grant; client_credentials only lets the profile validate before there is a code.
        profile = resolve_profile(task['profile'], task_vars, self._templar,
                                  dict(self.profile_options, grant_type='client_credentials'))
        store = refresh_token_store(profile, task_vars, task['store_path'])
        # The TLS files (Transport checks them) and the cache directory, before anything is sent or shown: the
        # device flow sends a request at once (over http, the TLS files would not even be read), the loopback
        # flow only after the browser step, and the paste flow keeps its waiting request in the cache directory.
        transport = Transport(profile)
        cache_dir = cache_directory(profile, configured_cache_dir(task_vars))
        # The cache keeps the issuer's discovery document; check mode writes nothing, not even there.
        warn = result.setdefault('warnings', []).append
        cache = None if self._task.check_mode else file_cache(profile, cache_dir, warn)
        client = TokenClient(profile, cache=cache, transport=transport)
        if self._task.check_mode:  # what can be known without a person: the endpoints and the redirect URI
            self._flow_endpoint(profile, client, task['flow'])
            result.update(changed=True, flow=task['flow'], profile=profile.name)
            return _with_store(result, store)
        if task['flow'] == 'device':
            token = self._device(profile, client, task)
        else:
            token = self._code(profile, client, task, cache_dir, result)
        if token is None:  # start_only: nothing secret in the result
            return _with_store(result, store)
        if not token.refresh_token:
            warn(
                "profile '%s': the server issued no refresh token, so this authorization cannot be reused; ask for "
                "offline access (OpenID Connect: scope offline_access)" % profile.name)
        elif store:
            _with_store(result, store, profile_settings=refresh_token_settings(profile, store, task_vars))
            show(next_steps(profile.name, store, result['profile_settings']))
        result.update(token.as_result(time.time()), changed=True, flow=task['flow'])
        result['_ansible_no_log'] = True  # as for tokenops.oauth2.token: censored on screen, kept when registered
        return result

    def _endpoint(self, profile, client, option, metadata_key):
        url = profile.get(option) or (client.metadata().get(metadata_key) if profile.get('issuer') else None)
        if not url:
            raise ProfileError("no '%s', and no issuer whose discovery document names a %s" % (option, metadata_key),
                               profile=profile.name, hint='set %s (or preset / issuer)' % option)
        return url

    def _flow_endpoint(self, profile, client, flow):
        """The endpoint the flow starts at, once what the flow needs of the profile is checked."""
        if flow == 'device':
            return self._endpoint(profile, client, 'device_authorization_url', 'device_authorization_endpoint')
        endpoint = self._endpoint(profile, client, 'authorization_url', 'authorization_endpoint')
        if not profile.get('redirect_uri'):
            raise ProfileError("the %s flow needs 'redirect_uri', a redirect URI registered for the client"
                               % flow, profile=profile.name)
        if flow == 'loopback':
            loopback_redirect(profile['redirect_uri'], profile.name)
        return endpoint

    def _code(self, profile, client, task, cache_dir, result):
        endpoint = self._flow_endpoint(profile, client, task['flow'])
        if task['flow'] == 'loopback':
            return self._loopback(profile, client, endpoint, task)
        return self._paste(profile, client, endpoint, task, cache_dir, result)

    def _loopback(self, profile, client, endpoint, task):
        timeout = task['listen_timeout']
        with LoopbackListener(profile['redirect_uri'], task['loopback_port'], profile.name) as listener:
            request = new_request(profile, endpoint, listener.redirect_uri, task['authorization_params'])
            listener.start(lambda url: parse_redirect(url, request, profile.name, profile.get('issuer')),
                           request.url)
            # The browser gets the listener's one-time link: its command line is not the place for the state.
            self._show(profile, request, 'in a browser on this machine; waiting up to %d s for the redirect to %s'
                       % (timeout, listener.redirect_uri), task['open_browser'] and listener.browser_url)
            code = listener.wait(timeout)
        if code is None:
            raise AuthorizationError(
                'no redirect reached %s within %d s' % (listener.redirect_uri, timeout), profile=profile.name,
                hint='approve in a browser on this machine (a browser elsewhere cannot reach 127.0.0.1: use flow '
                     'paste or device), or raise listen_timeout')
        return exchange_code(profile, request, code, client.transport)

    def _paste(self, profile, client, endpoint, task, cache_dir, result):
        pending = PendingAuthorizations(cache_dir, profile_name=profile.name)
        key = pending.key(profile, endpoint)
        if not task['redirect_url']:
            request = new_request(profile, endpoint, profile['redirect_uri'], task['authorization_params'])
            pending.save(key, request)
            self._show(profile, request, 'in a browser, approve, then copy the address the browser is sent to (even '
                                         'if that page does not load)', task['open_browser'] and request.url)
            if task['start_only']:
                result.update(changed=False, authorization_url=request.url, redirect_uri=request.redirect_uri,
                              pending_for=PENDING_MAX_AGE)
                return None
            raise AuthorizationError(
                'the paste flow needs the address the browser was redirected to', profile=profile.name,
                hint="open the authorization URL shown above, approve, and within %d minutes run again with "
                     "redirect_url set to that address (onboard playbook: -e redirect_url='...', or -e @FILE with "
                     "redirect_url in FILE to keep it out of verbose output)" % (PENDING_MAX_AGE // 60))
        request = pending.load(key)
        if request is None:
            raise AuthorizationError(
                'no authorization request for this profile is waiting on this controller (none was started, or it '
                'is older than %d minutes)' % (PENDING_MAX_AGE // 60), profile=profile.name,
                hint='run without redirect_url first, open the URL it shows, then give the address it leads to')
        try:
            code = parse_redirect(task['redirect_url'], request, profile.name, profile.get('issuer'))
        except AuthorizationError as exc:
            if exc.error:  # the server answered this request with an error: it is over
                pending.remove(key)
            raise
        pending.remove(key)  # the code is single-use: whatever the exchange says, this request is spent
        return exchange_code(profile, request, code, client.transport)

    def _device(self, profile, client, task):
        url = self._flow_endpoint(profile, client, 'device')
        started_at = time.monotonic()
        authorization = request_device_authorization(profile, url, client.transport)
        lines = ["Authorize profile '%s': on any device with a browser, open" % profile.name,
                 'Verification URL: %s' % authorization.verification_uri,
                 'and enter', 'User code: %s' % authorization.user_code]
        if authorization.verification_uri_complete:
            lines.append('(or open %s directly)' % authorization.verification_uri_complete)
        lines.append('The code expires in %d s; checking for approval every %d s.' % (
            authorization.expires_in, authorization.interval))
        if task['open_browser']:
            # The page without the code: a command line is readable by every user of the machine, and whoever
            # enters the code first decides whose account the profile gets.
            lines.insert(0, _browser_opened(authorization.verification_uri))
        show('\n'.join(lines))
        return poll_for_token(profile, client.token_url(), authorization, client.transport, started_at=started_at)

    @staticmethod
    def _show(profile, request, what, browser_url=None):
        """The URL to open, last: it is what the person acts on (after a note on the browser, if one was asked)."""
        lines = [_browser_opened(browser_url)] if browser_url else []
        lines += ["Authorize profile '%s': open this URL %s." % (profile.name, what),
                  'Authorization URL: %s' % request.url]
        show('\n'.join(lines))


def _with_store(result, store, **more):
    """RESULT with where the refresh token belongs (when the profile or the task says), and MORE."""
    if store:
        result.update(refresh_token_store=store, **more)
    return result


def _browser_opened(url):
    """Open URL in a browser (open_browser); what to tell the person about it."""
    why_not = open_in_browser(url)
    return '(No browser was opened: %s.)' % why_not if why_not else '(A browser is being opened for you.)'
