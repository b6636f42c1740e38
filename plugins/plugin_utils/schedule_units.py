# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The text of the systemd service and timer and of the cron entry the schedule role installs (the role's templates
add the ``ansible_managed`` line above it).

Every value comes from the role's variables, checked to be one line each; what remains is quoting. A word of a unit
file is quoted when it holds more than path characters, ``%`` starts a specifier everywhere (doubled), ``$`` expands
a variable on a command line only (doubled there). cron passes its command to /bin/sh and turns an unescaped ``%``
into a newline.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex

from ansible_collections.tokenops.oauth2.plugins.plugin_utils.schedule_plan import BUSY_STATUS, RUN_PATH

HEADER = ("# Installed by the tokenops.oauth2.schedule role: change the role's variables, not this file.\n")
NO_SECRET = "# It holds no secret: the vault password is read at run time from the file or client script named below.\n"
PLAIN_WORD = re.compile('[A-Za-z0-9_@%+=:,./-]+')
HARDENING = '''NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=strict
ReadWritePaths=%s
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
UMask=0077
'''


def systemd_word(value, command=True):
    """VALUE as one word of a unit file line: % doubled, $ too on a command line, quoted unless plain."""
    text = str(value).replace('%', '%%')
    if command:
        text = text.replace('$', '$$')
    if PLAIN_WORD.fullmatch(text):
        return text
    return '"%s"' % text.replace('\\', '\\\\').replace('"', '\\"')


def cron_word(value):
    """VALUE as one word of a cron command: quoted for /bin/sh, % escaped for cron."""
    return shlex.quote(str(value)).replace('%', '\\%')


def service_unit(plan):
    """The service: one run of the command, as the run user, output to the journal, sandboxed unless asked not."""
    lines = [
        HEADER + NO_SECRET + '[Unit]',
        'Description=Rotate OAuth 2.0 tokens (%s)' % plan['playbook'].replace('%', '%%'),
        'After=network-online.target',
        'Wants=network-online.target',
        '',
        '[Service]',
        'Type=oneshot',
        'User=%s' % plan['user'],
    ]
    if plan['group']:
        lines.append('Group=%s' % plan['group'])
    lines.append('WorkingDirectory=%s' % (plan['working_dir'].replace('%', '%%') if plan['working_dir'] else '~'))
    lines += ['Environment=%s' % systemd_word('%s=%s' % item, command=False) for item in plan['environment'].items()]
    lines += [
        '# A run still going (or one started by hand under the same lock) makes flock exit %d at once: skipped, not '
        'failed.' % BUSY_STATUS,
        'ExecStart=%s' % ' '.join(systemd_word(word) for word in plan['run']),
        'SuccessExitStatus=%d' % BUSY_STATUS,
        'TimeoutStartSec=%ds' % plan['run_timeout'],
        'StandardOutput=journal',
        'StandardError=journal',
        'SyslogIdentifier=%s' % plan['unit_name'],
    ]
    text = '\n'.join(lines) + '\n'
    if plan['hardening']:
        text += ('# Sandbox: a read-only system; writable are the home of %s (ansible\'s temporary files, the token\n'
                 '# cache), the lock\'s directory and the directories of the deliveries made on this machine.\n'
                 % plan['user'])
        text += HARDENING % ' '.join(systemd_word('-' + path, command=False) for path in plan['read_write_paths'])
    return text


def timer_unit(plan):
    """The timer: monotonic, the first run soon after boot, then one every interval, each randomly delayed."""
    return HEADER + '''[Unit]
Description=Rotate OAuth 2.0 tokens every {interval}s

[Timer]
# Monotonic: the first run comes soon after boot (or at once when the timer starts later than that), then one
# every interval after the previous one began, each delayed by up to the randomized delay.
OnBootSec={on_boot}s
OnUnitActiveSec={interval}s
RandomizedDelaySec={randomized_delay}s
AccuracySec=1s
Unit={unit_name}.service

[Install]
WantedBy=timers.target
'''.format(**plan)


def cron_entry(plan):
    """The cron file: its environment, then one line that sleeps up to the delay, changes to the working directory
    and runs the command, its output to syslog."""
    lines = [
        HEADER + NO_SECRET + '# Every %ds, after a random delay of up to %ds; flock skips a run while the previous one'
        % (plan['effective_interval'], plan['randomized_delay']),
        '# still goes; the output goes to syslog, tagged %s.' % plan['unit_name'],
        'SHELL=/bin/sh',
        'PATH=' + RUN_PATH,
    ]
    lines += ['%s=%s' % item for item in plan['environment'].items()]
    command = ''
    if plan['randomized_delay'] > 0:
        command += 'sleep $(shuf -i 0-%d -n 1); ' % plan['randomized_delay']
    if plan['working_dir']:
        command += 'cd %s && ' % cron_word(plan['working_dir'])
    command += ' '.join(cron_word(word) for word in plan['run'])
    lines.append('%s %s * * * %s %s 2>&1 | logger -t %s' % (
        plan['cron_minute'], plan['cron_hour'], plan['user'], command, plan['unit_name']))
    return '\n'.join(lines) + '\n'
