# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the person onboarding a profile (tokenops.oauth2.authorize) is offered and told: a browser opened for them,
and once authorized, the profile keys to add, exactly as they are to be pasted."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

import yaml

# The directories beside an inventory that Ansible loads variables from by itself.
LOADED_DIRECTORIES = ('group_vars', 'host_vars')


def open_in_browser(url, environ=None, platform=None):
    """Ask this machine's desktop to open URL in a browser; None once asked, else why not (to tell the person).

    Python's webbrowser picks the browser (BROWSER, the desktop's default, a known one). It runs in a process of its
    own, detached and silent: webbrowser waits for some browsers to exit (a BROWSER command, a text-mode browser),
    and launchers write to the terminal, neither of which may reach this run. In isolated mode (-I), so that a
    webbrowser.py in the current directory or on PYTHONPATH is not what runs. Without a graphical session nothing is
    started: a text-mode browser would have no terminal to draw on.
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    desktop = platform == 'darwin' or platform.startswith('win') or any(
        environ.get(name) for name in ('DISPLAY', 'WAYLAND_DISPLAY', 'BROWSER'))
    if not desktop:
        return 'this machine has no graphical session (DISPLAY, WAYLAND_DISPLAY and BROWSER are unset)'
    try:
        subprocess.Popen([sys.executable, '-I', '-m', 'webbrowser', '-t', url], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True, start_new_session=True)
    except OSError as exc:
        return 'Python could not be started to open it: %s' % (exc.strerror or exc)
    return None


def profile_settings_text(settings):
    """SETTINGS (controller.refresh_token_settings) as the YAML lines to paste into a profile, indented for display."""
    text = yaml.safe_dump(settings, default_flow_style=False, sort_keys=False, allow_unicode=True)
    return '\n'.join('    ' + line for line in text.splitlines())


def next_steps(profile_name, store, settings):
    """What to do once the refresh token is stored at STORE (refresh_token_store), SETTINGS what to add."""
    lines = ['', "Authorized. Once its refresh token is stored (vault-encrypted) as %s in %s, set these keys in "
             "oauth2_profiles.%s, replacing its grant_type:" % (store['var'], store['path'], profile_name),
             '', profile_settings_text(settings), '']
    if settings['refresh_token_vars_file'].split(os.sep)[0] not in LOADED_DIRECTORIES:
        lines.append('That file is not in the group_vars or host_vars of the inventory: load it (vars_files, or '
                     '-e @FILE) wherever the profile is used.')
    lines.append("If the server rotates refresh tokens, the one stored now is spent on first use. From then on the "
                 "live one is kept in the controller's token cache (and in the shared store when cache_url is set), "
                 "and the deliver role (playbook tokenops.oauth2.rotate) writes each new one back to that file.")
    return '\n'.join(lines)
