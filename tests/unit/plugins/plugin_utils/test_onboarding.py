# -*- coding: utf-8 -*-
"""plugin_utils.onboarding: the browser opened for the person onboarding, and what they are told to add."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import subprocess
import time

import yaml

from ansible_collections.tokenops.oauth2.plugins.plugin_utils.onboarding import next_steps, open_in_browser

STORE = dict(path='/srv/inv/group_vars/all/app_rt.yml', var='vault_app_refresh_token')


def wait_for(path, timeout=30):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        assert time.monotonic() < deadline, 'nothing ran'
        time.sleep(0.05)


def browser_script(tmp_path, body):
    script = tmp_path / 'browser'
    script.write_text('#!/bin/sh\n' + body + '\n')
    script.chmod(0o700)
    return str(script)


def test_without_a_graphical_session_no_browser_is_started(monkeypatch):
    """A text-mode browser (lynx, w3m) is what webbrowser would find there, with no terminal to draw on."""
    started = []
    monkeypatch.setattr(subprocess, 'Popen', lambda *args, **kwargs: started.append(args))
    why = open_in_browser('http://127.0.0.1:1/x', environ=dict(TERM='xterm', PATH=os.environ['PATH']),
                          platform='linux')
    assert why.startswith('this machine has no graphical session') and not started
    assert open_in_browser('http://127.0.0.1:1/x', environ=dict(WAYLAND_DISPLAY='wayland-0'), platform='linux') is None
    assert len(started) == 1


def test_a_browser_that_stays_open_neither_holds_the_run_nor_writes_to_its_terminal(tmp_path, capfd, monkeypatch):
    """webbrowser waits for a BROWSER command to exit (a browser that was not running yet stays open for as long as
    the person uses it), and launchers chatter on stdout and stderr."""
    marker = tmp_path / 'opened'
    monkeypatch.setenv('BROWSER', browser_script(
        tmp_path, 'echo noise; echo noise >&2; echo "$$ $1" > %s.tmp; mv %s.tmp %s; exec sleep 30' % ((marker,) * 3)))
    assert open_in_browser('http://127.0.0.1:1/one-time-link') is None  # returns at once: the browser sleeps on
    wait_for(str(marker))
    pid, url = marker.read_text().split()
    os.kill(int(pid), signal.SIGKILL)
    assert url == 'http://127.0.0.1:1/one-time-link'
    out, err = capfd.readouterr()
    assert 'noise' not in out + err


def test_a_webbrowser_module_planted_in_the_current_directory_is_not_what_runs(tmp_path, monkeypatch):
    """python -m webbrowser would import ./webbrowser.py first: whoever can write the directory the operator runs
    ansible-playbook in (a shared checkout, /tmp) would run their code as the operator."""
    planted = tmp_path / 'planted-ran'
    (tmp_path / 'webbrowser.py').write_text('open(%r, "w").write("owned")\n' % str(planted))
    marker = tmp_path / 'opened'
    monkeypatch.setenv('BROWSER', browser_script(tmp_path, 'echo "$1" > %s' % marker))
    monkeypatch.setenv('PYTHONPATH', str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert open_in_browser('http://127.0.0.1:1/x') is None
    wait_for(str(marker))
    assert not planted.exists()


def test_the_next_steps_hold_the_keys_as_yaml_to_paste():
    settings = dict(grant_type='refresh_token', refresh_token='{{ vault_app_refresh_token }}',
                    refresh_token_vars_file='group_vars/all/app_rt.yml')
    text = next_steps('app', STORE, settings)
    lines = text.split('\n')
    start = lines.index(next(line for line in lines if line.endswith('oauth2_profiles.app, replacing its grant_type:')))
    block = []
    for line in lines[start + 2:]:
        if not line:
            break
        block.append(line[4:])
    assert yaml.safe_load('\n'.join(block)) == settings
    assert 'not in the group_vars or host_vars' not in text and 'spent on first use' in text


def test_a_vars_file_ansible_does_not_load_by_itself_is_pointed_out():
    settings = dict(grant_type='refresh_token', refresh_token='{{ vault_app_refresh_token }}',
                    refresh_token_vars_file='/etc/tokenops/app_rt.yml')
    assert 'not in the group_vars or host_vars of the inventory' in next_steps('app', STORE, settings)
