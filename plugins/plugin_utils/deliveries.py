# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deliver role's rules, in one place: what a delivery may say, what it writes and notifies, and what the role
reports at its end.

Pure functions of plain data. The role (roles/deliver/tasks/main.yml) reaches them through the action plugin
tokenops.oauth2.deliveries (steps ``host``, ``batch`` and ``summary``) and the filters tokenops.oauth2.deliverable
and tokenops.oauth2.delivery_values; those only gather the data and hand it over.

A delivery's *token results* are what the role's token task registered: ``{'results': [...]}``, one result per
profile, ``item`` naming the profile; a failed one has ``failed`` and ``msg``, a good one the token's fields.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible_collections.tokenops.oauth2.plugins.module_utils.env_file import EnvFileError, validate_key
from ansible_collections.tokenops.oauth2.plugins.module_utils.token import Token
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.value_kind import kind_of, shown
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.vault_file import VaultVarsError, parse_mode

KINDS = ('env_file', 'vault_vars')
# What a token result says about the token rather than being part of it: nothing a delivery writes.
TOKEN_METADATA = ('profile', 'from_cache')
# The fields a delivery's "vars" may name: every field of the token's public mapping (Token.as_result) but its
# metadata, so that a field the token gains is deliverable at once.
FIELDS = tuple(sorted(set(Token('', 'Bearer', 0, 0).as_result(0)) - set(TOKEN_METADATA)))
# Fields that change on every run: written only together with another value of the delivery (rewriting them alone
# would restart the consumer on every run).
COUNTDOWN_FIELDS = ('expires_in',)
# A delivery's fields that may be left out, and their values then (meta/argument_specs.yml documents the same;
# tests/unit/plugins/plugin_utils/test_deliveries.py checks that the two agree).
DEFAULTS = dict(state='present', mode='0600', follow=False, restart=[], notify=[])
# The topics the role's handlers listen to (roles/deliver/handlers/main.yml).
COUNTDOWN_HANDLER = 'tokenops.oauth2.deliver countdown'
RESTART_HANDLER = 'tokenops.oauth2.deliver restart'
NOTIFY_HANDLER = 'tokenops.oauth2.deliver notify'
STORE_HINT = ('the controller cache still holds it, so runs from this controller renew; once the file can be '
              'written, the next run stores it')


def host_deliveries(host, deliveries, restart_units=True):
    """(HOST's deliveries with their defaults filled in, the problems found in them).

    Each delivery gains ``handlers``, the topics its env file's change notifies (RESTART_UNITS: the role's
    oauth2_deliver_restart), and ``counts_down``, whether it writes a countdown field. A problem is one sentence that
    names the host, the delivery and the field at fault; nothing is written while there is one.
    """
    if deliveries is None:
        return [], []
    if kind_of(deliveries) != 'a list':
        return [], ['%s: oauth2_deliveries must be a list of deliveries, got %s.' % (host, kind_of(deliveries))]
    filled, problems = [], []
    for number, delivery in enumerate(deliveries, 1):
        if not isinstance(delivery, Mapping):
            problems.append('%s, delivery %d must be a mapping, got %s.' % (host, number, kind_of(delivery)))
            continue
        where = '%s, delivery %d (%s %s)' % (host, number, shown(delivery.get('to')), shown(delivery.get('path')))
        problems += ['%s: %s' % (where, problem) for problem in delivery_problems(delivery)]
        filled.append(with_defaults(delivery, restart_units))
    return filled, problems


def delivery_problems(delivery):
    """What is wrong with one DELIVERY (a mapping), one sentence each. The role's argument spec has checked the
    types of converted copies ('a,b' passes as a list); these check the values the role uses."""
    problems = []
    for option in ('profile', 'path', 'owner', 'group'):
        value, required = delivery.get(option), option in ('profile', 'path')
        if not isinstance(value, str) and (required or value is not None):
            problems.append('%s must be a string, got %s.' % (option, kind_of(value)))
        elif required and not value:
            problems.append('%s must not be empty.' % option)
        elif isinstance(value, str) and '\x00' in value:
            problems.append('%s must not hold a NUL byte.' % option)
    problems += mode_problems(delivery.get('mode', DEFAULTS['mode']))
    for option in ('restart', 'notify'):
        problems += names_problems(option, delivery.get(option, []))
    problems += vars_problems(delivery.get('vars'), delivery.get('state', DEFAULTS['state']) == 'present')
    if delivery.get('to') == 'vault_vars' and ('owner' in delivery or 'group' in delivery or delivery.get('restart')):
        problems.append('owner, group and restart apply to env_file deliveries only.')
    return problems


def mode_problems(mode):
    """MODE: null (the module's default), or what vault_vars takes (an octal string, or a number up to 0o7777)."""
    try:
        if mode is not None:
            parse_mode(mode)
    except VaultVarsError:
        got = "'%s'" % shown(mode, 40) if isinstance(mode, str) else kind_of(mode)
        return ["mode must be an octal string such as '0640', got %s." % got]
    return []


def names_problems(option, names):
    """RESTART or NOTIFY: a list of non-empty names (units, handlers)."""
    if kind_of(names) != 'a list':
        return ['%s must be a list of names, got %s.' % (option, kind_of(names))]
    for name in names:
        if not isinstance(name, str) or not name or '\x00' in name:
            what = kind_of(name) if not isinstance(name, str) else 'a string with a NUL byte' if name else 'empty'
            return ['%s must be a list of names (non-empty strings), got one that is %s.' % (option, what)]
    return []


def vars_problems(variables, present):
    """The "vars" mapping: variable names (the env_file rule: letters, digits and _, not starting with a digit)
    to token fields (checked only where the delivery writes them, not where it removes the names)."""
    if not isinstance(variables, Mapping):
        return ['vars must be a mapping of variable name to token field, got %s.' % kind_of(variables)]
    problems = []
    for name, field in variables.items():
        if present and (not isinstance(field, str) or field not in FIELDS):
            problems.append("%s asks for '%s', which is not a token field (one of %s)." % (
                shown(name), shown(field), ', '.join(FIELDS)))
        try:
            validate_key(name)
        except EnvFileError:
            problems.append("'%s' is not a valid variable name (letters, digits and _, not starting with a digit)."
                            % shown(name))
    return problems


def with_defaults(delivery, restart_units=True):
    """DELIVERY with DEFAULTS filled in, and what its change notifies (see host_deliveries)."""
    filled = dict(DEFAULTS, restart=[], notify=[])  # lists of their own
    filled.update(delivery)
    variables = filled.get('vars') if isinstance(filled.get('vars'), Mapping) else {}
    filled['counts_down'] = filled['state'] == 'present' and any(
        field in COUNTDOWN_FIELDS for field in variables.values() if isinstance(field, str))
    filled['handlers'] = (
        [COUNTDOWN_HANDLER] * filled['counts_down']
        + [RESTART_HANDLER] * bool(filled['restart'] and restart_units)
        + [NOTIFY_HANDLER] * bool(filled['notify']))
    return filled


def batch_plan(deliveries_by_host):
    """What the role does once for the batch, from each host's step result ({host: {'deliveries': [...],
    'problems': [...]}}): (every problem, the profiles whose token is needed, the vault_vars deliveries, once each)."""
    found = [mine if isinstance(mine, Mapping) else {} for mine in deliveries_by_host.values()]
    problems = [problem for mine in found for problem in mine.get('problems') or []]
    if problems:
        return problems, [], []
    profiles, vault_files = [], []
    for mine in found:
        for delivery in mine.get('deliveries') or []:
            if delivery['state'] == 'present' and delivery['profile'] not in profiles:
                profiles.append(delivery['profile'])
            if delivery['to'] == 'vault_vars' and delivery not in vault_files:
                vault_files.append(delivery)
    return problems, profiles, vault_files


def _results(registered):
    """The per-item results of a registered loop (none when the loop was skipped or never ran)."""
    results = registered.get('results') if isinstance(registered, Mapping) else None
    return [result for result in results or [] if isinstance(result, Mapping)]


def obtained_tokens(token_results):
    """Profile name -> its token result, for the profiles whose token was obtained."""
    return dict((result['item'], result) for result in _results(token_results) if not result.get('failed'))


def failures(registered, default_message, name=lambda result: result.get('item')):
    """Name -> message of the failed items of a registered loop (NAME: an item's name)."""
    return dict((name(result), result.get('msg') or default_message) for result in _results(registered)
                if result.get('failed'))


def deliverable(deliveries, token_results):
    """The DELIVERIES that can be written: removals, and those whose profile's token was obtained (the others are
    left as they were)."""
    tokens = obtained_tokens(token_results)
    return [delivery for delivery in deliveries or [] if delivery['state'] == 'absent' or delivery['profile'] in tokens]


def delivery_values(delivery, token_results, countdown=False):
    """What a task writes for DELIVERY: the names to remove, or name -> value of its token's fields (with
    COUNTDOWN, only the countdown fields; without, all others). A field the token lacks is written empty."""
    if delivery['state'] == 'absent':
        return list(delivery['vars'])
    token = obtained_tokens(token_results).get(delivery['profile'])
    if token is None:
        raise ValueError("no token was obtained for profile '%s'" % delivery['profile'])
    return dict((name, token.get(field) or '') for name, field in delivery['vars'].items()
                if (field in COUNTDOWN_FIELDS) == bool(countdown))


def summary(token_results, vault_written, hosts):
    """One entry per profile whose token was asked for: profile, status ('renewed', 'still valid' or 'failed': no
    token, a destination not written, or the rotated refresh token not written back), reason (when failed),
    expires_at, destinations (host:path of env files, the path of vars files, which are on the controller) and
    line, the operator's one-line account of it. Nothing secret: the reasons are the engine's and the modules'
    messages, which never hold one.

    A rotated refresh token is written back by the token action itself: its result's refresh_token_store says
    whether that failed (``error``). VAULT_WRITTEN: the registered vault_vars writes;
    HOSTS: (host, its deliveries, its registered env_file writes) for every host of the play.
    """
    token_errors = failures(token_results, 'the token task failed')
    store_errors = dict((result.get('item'), result['refresh_token_store']['error']) for result in _results(token_results)
                        if (result.get('refresh_token_store') or {}).get('error'))
    entries = []
    for result in _results(token_results):
        name = result.get('item')
        destinations, unwritten = _destinations(name, hosts), []
        for host, deliveries, written in hosts:
            unwritten += ['%s:%s (%s)' % (host, r['item']['path'], r.get('msg') or 'failed')
                          for r in _results(written) if r.get('failed') and r['item']['profile'] == name]
        unwritten += ['%s (%s)' % (r['item']['path'], r.get('msg') or 'failed')
                      for r in _results(vault_written) if r.get('failed') and r['item']['profile'] == name]
        if name in token_errors:
            status = 'failed'
            reason = token_errors[name].replace("profile '%s': " % name, '')
            line = '%s: FAILED, left as they were: %s. %s' % (name, ', '.join(destinations), reason)
        else:
            status = token_status = 'still valid' if result.get('from_cache') else 'renewed'
            reason = None
            if unwritten:
                status, reason = 'failed', 'not written to ' + ', '.join(unwritten)
            elif name in store_errors:
                status = 'failed'
                reason = 'the rotated refresh token could not be written back to %s: %s (%s)' % (
                    result.get('refresh_token_store', {}).get('path'), store_errors[name], STORE_HINT)
            line = '%s: %s (expires %s) -> %s%s' % (
                name, token_status, result.get('expires_at'), ', '.join(destinations),
                '. FAILED: ' + reason if reason else '')
        entries.append(dict(profile=name, status=status, reason=reason, expires_at=result.get('expires_at'),
                            destinations=destinations, line=line))
    return entries


def _destinations(profile, hosts):
    """Where PROFILE's token goes, each place once: host:path of env files, the path of vars files."""
    places = []
    for host, deliveries, written in hosts:
        for delivery in deliveries:
            place = delivery['path'] if delivery['to'] == 'vault_vars' else '%s:%s' % (host, delivery['path'])
            if delivery['profile'] == profile and delivery['state'] == 'present' and place not in places:
                places.append(place)
    return places


def failure_message(entries):
    """The role's closing failure for the profiles that failed ('' when none did)."""
    failed = [entry['line'] for entry in entries if entry['status'] == 'failed']
    if not failed:
        return ''
    return '%d of %d delivered profiles failed%s: %s' % (
        len(failed), len(entries), ' (the others were delivered)' if len(entries) > len(failed) else '',
        '; '.join(failed))
