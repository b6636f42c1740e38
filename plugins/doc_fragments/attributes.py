# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The support levels the collection's plugins share. ansible-core's action_common_attributes fragments give the
    # descriptions; ansible-doc merges each attribute's keys from both, so a plugin states only what is its own.
    DOCUMENTATION = r'''
attributes:
  platform:
    platforms: posix
'''

    # An action plugin doing its work on the controller: one task per host, not async.
    CONTROLLER_ACTION = r'''
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
'''

    # A writer of files holding secrets: temporary file, then rename into place.
    SAFE_FILES = r'''
attributes:
  safe_file_operations:
    support: full
'''
