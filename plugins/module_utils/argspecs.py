# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The task options of the plugins that run on the controller, one spec each.

Each spec serves twice: the action plugin checks a task against it (plugin_utils.action_module), and the module file
of the same name builds its AnsibleModule from it in ``main()``, so that ansible-test's validate-modules compares the
documentation with the spec that is enforced. token and authorize also take the profile options
(module_utils.profile.PROFILE_OPTIONS), which their module files add and their action plugins pass on to the profile.

Plain data, importing nothing: an action plugin pays nothing for it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

TOKEN_OPTIONS = dict(
    profile=dict(type='str'),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    force_refresh=dict(type='bool', default=False),
    validate=dict(type='bool', default=False),
    fetch_on=dict(type='str', default='controller', choices=['controller', 'host']),
)

AUTHORIZE_OPTIONS = dict(
    profile=dict(type='str'),
    flow=dict(type='str', default='loopback', choices=['loopback', 'paste', 'device']),
    redirect_url=dict(type='str', no_log=True),  # it carries the authorization code
    start_only=dict(type='bool', default=False),
    listen_timeout=dict(type='int', default=300),
    loopback_port=dict(type='int'),
    open_browser=dict(type='bool', default=False),
    authorization_params=dict(type='dict'),
    store_path=dict(type='path'),
)

VAULT_VARS_OPTIONS = dict(
    path=dict(type='path', required=True),
    values=dict(type='raw', required=True, no_log=True),
    vault_id=dict(type='str'),
    encrypt=dict(type='str', choices=['values', 'file'], default='values'),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
    mode=dict(type='raw', default='0600'),
    backup=dict(type='bool', default=False),
    create=dict(type='bool', default=True),
    follow=dict(type='bool', default=False),
)

RUN_LOCK_OPTIONS = dict(
    path=dict(type='path', required=True),
    state=dict(type='str', default='present', choices=['present', 'absent']),
    wait=dict(type='int', default=0),
)

SCHEDULE_PLAN_OPTIONS = dict(
    home=dict(type='str'),
    systemd_runs_host=dict(type='bool', default=False),
    probed_lifetimes=dict(type='dict', default={}),
)

DELIVERIES_OPTIONS = dict(
    step=dict(type='str', required=True, choices=['host', 'batch', 'summary']),
)


def controller_only(module, name):
    """Fail MODULE (an AnsibleModule built from one of these specs) the way a module run on a host must: NAME is an
    action plugin, and this module file only documents it."""
    module.fail_json(msg='%s runs on the controller, as an action plugin of the same name; this module file only '
                         'documents it and does nothing on a managed host. Run it as a task of a playbook (the action '
                         'plugin takes the task), with the collection installed on the controller.' % name)
