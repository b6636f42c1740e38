# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the modules whose arguments hold secrets pipelined, so that the secrets never sit in a file on the host.

Without pipelining, Ansible writes the module with its arguments into ``REMOTE_TMP/ansible-tmp-*/AnsiballZ_*.py``
and removes it when the task ends; a run killed meanwhile (SIGKILL, a lost controller) leaves it there, tokens and
client secrets in plain text, and later runs never remove it. Pipelined, the module and its arguments reach the
host's Python through the connection's standard input; AnsiballZ extracts only the module's code to disk.

Pipelining is off by default because ``sudo`` with ``requiretty`` cannot pipeline; current distributions do not set
it. These tasks turn it on for themselves where the connection and become method can pipeline, and say so in a
warning where they cannot.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.utils.display import Display

display = Display()


@contextlib.contextmanager
def pipelined(action, what):
    """Within the block, ACTION's modules run pipelined where the connection can; where it cannot, a warning says
    why WHAT (the arguments holding secrets, in words) will sit in a module file on the host."""
    connection = action._connection
    try:
        configured = connection.get_option('pipelining')
    except (KeyError, AnsibleError):  # a connection plugin without the option cannot pipeline
        configured = None
    if configured is False:
        connection.set_option('pipelining', True)
    try:
        wrap_async = bool(action._task.async_val) and not connection.has_native_async
        if not action._is_pipelining_enabled('new', wrap_async):
            display.warning('%s cannot run pipelined here (%s): %s will sit in a module file on %s while it runs, and '
                            'stay there if the run is killed' % (action._task.action, _why_not(connection, wrap_async),
                                                                 what, action._play_context.remote_addr or 'the host'))
        yield
    finally:
        if configured is False:
            connection.set_option('pipelining', False)


def _why_not(connection, wrap_async):
    if C.DEFAULT_KEEP_REMOTE_FILES:
        return 'ANSIBLE_KEEP_REMOTE_FILES asks for the module files to stay'
    if wrap_async:
        return 'async tasks are not pipelined'
    become = connection.become
    if become is not None and (not getattr(become, 'pipelining', True) or become.name == 'su'):
        return 'the become method %s cannot pipeline; sudo can' % become.name
    return 'the %s connection cannot pipeline' % (getattr(connection, 'transport', None) or 'chosen')
