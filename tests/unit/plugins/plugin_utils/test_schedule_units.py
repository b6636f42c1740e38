# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugin_utils.schedule_units: quoting for systemd and cron, and the files as written. tests/integration/
test_schedule.py verifies the units with systemd-analyze and runs their commands as systemd and cron would."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex

import pytest

from ansible_collections.tokenops.oauth2.plugins.plugin_utils.schedule_units import (
    cron_entry, cron_word, service_unit, systemd_word, timer_unit)


@pytest.mark.parametrize('value, command, word', [
    ('/usr/bin/flock', True, '/usr/bin/flock'), ('--vault-id=prod@/etc/p', True, '--vault-id=prod@/etc/p'),
    ('50%', True, '50%%'), ('$HOME', True, '"$$HOME"'), ('K=$HOME', False, '"K=$HOME"'),
    ('a b', True, '"a b"'), ('say "hi"\\', True, '"say \\"hi\\"\\\\"'), (75, True, '75'), ('', True, '""'),
])
def test_systemd_word(value, command, word):
    assert systemd_word(value, command) == word


@pytest.mark.parametrize('value', ['plain', 'a b', "it's", '50% of $HOME', '`id`', '$(id)', '', 'x\\%y'])
def test_cron_word_reads_back_through_cron_and_sh(value):
    word = cron_word(value)
    assert '%' not in word.replace('\\%', '')
    assert shlex.split(word.replace('\\%', '%')) == [value]


def unit(**overrides):
    data = dict(playbook='tokenops.oauth2.rotate', user='root', group='', working_dir='', unit_name='rot',
                environment={'ANSIBLE_NOCOLOR': '1', 'SPACE': 'a b $X %y'}, run=['/usr/bin/flock', 'x', '50%'],
                run_timeout=900, hardening=True, read_write_paths=['/root', '/srv/a b'], interval=300,
                effective_interval=300, randomized_delay=30, on_boot=120, cron_minute='5-59/5', cron_hour='*')
    data.update(overrides)
    return data


def test_service_unit():
    text = service_unit(unit(group='ops', working_dir='/srv/50%'))
    lines = text.splitlines()
    assert lines[0].startswith('# Installed by the tokenops.oauth2.schedule role') and text.endswith('UMask=0077\n')
    for line in ('User=root', 'Group=ops', 'WorkingDirectory=/srv/50%%', 'Environment=ANSIBLE_NOCOLOR=1',
                 'Environment="SPACE=a b $X %%y"', 'ExecStart=/usr/bin/flock x 50%%', 'SuccessExitStatus=75',
                 'TimeoutStartSec=900s', 'SyslogIdentifier=rot', 'ReadWritePaths=-/root "-/srv/a b"'):
        assert line in lines
    plain = service_unit(unit(hardening=False)).splitlines()
    assert 'WorkingDirectory=~' in plain and not [line for line in plain if line.startswith(('Group=', 'Protect'))]
    assert plain[-1] == 'SyslogIdentifier=rot'


def test_timer_unit():
    lines = timer_unit(unit()).splitlines()
    for line in ('OnBootSec=120s', 'OnUnitActiveSec=300s', 'RandomizedDelaySec=30s', 'Unit=rot.service',
                 'WantedBy=timers.target'):
        assert line in lines


def test_cron_entry():
    lines = cron_entry(unit(working_dir='/srv/work dir')).splitlines()
    assert 'SPACE=a b $X %y' in lines and 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' in lines
    assert lines[-1] == ("5-59/5 * * * * root sleep $(shuf -i 0-30 -n 1); cd '/srv/work dir' && /usr/bin/flock x "
                         "50\\% 2>&1 | logger -t rot")
    assert cron_entry(unit(randomized_delay=0)).splitlines()[-1].startswith('5-59/5 * * * * root /usr/bin/flock x')
