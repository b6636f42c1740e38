# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of the action plugins that do their work on the controller (in the manner of community.crypto's
ActionModuleBase).

Around its own work every such plugin does the same three things, done here once:

- it checks the task's arguments against the spec its module file documents (module_utils.argspecs; the module's
  ``main()`` builds its AnsibleModule from the same spec, so validate-modules compares docs and code);
- it turns the engine's expected failures (OAuth2Error and the vars file errors) into a failed result that carries
  their structured fields (profile, url, status, error, hint), never a traceback;
- it removes the values of ``no_log`` options from whatever it returns, whatever happened.

A subclass sets ARGUMENT_SPEC and implements ``run_action(task, task_vars, result)``, which returns the result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import OAuth2Error
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.compat import native
from ansible_collections.tokenops.oauth2.plugins.plugin_utils.vars_yaml import VarsFileError

# What ansible's str and path types would take as the repr of a list or mapping: refused instead, in these words.
SHAPE_WORDS = dict(str='a string', path='a file path')


def no_log_strings(value):
    """The texts of VALUE (a no_log option's value) that no result may show: every non-empty leaf, as AnsibleModule
    collects them (ansible-core offers no public function for it)."""
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return set().union(*(no_log_strings(item) for item in value))
    if value is None or isinstance(value, bool) or value in ('', b''):
        return set()
    return {to_text(value, errors='surrogate_or_strict')}


def shape_problem(name, option, value):
    """Why VALUE, given for the option NAME of spec OPTION, is of the wrong shape, or None."""
    words = SHAPE_WORDS.get(option.get('type'))
    if words and isinstance(value, (list, tuple, dict)):
        return '%s must be %s, got a %s' % (name, words, 'mapping' if isinstance(value, dict) else 'list')
    return None


class ActionModuleBase(ActionBase):
    """Validate, run, report: see the module docstring."""

    ARGUMENT_SPEC = {}
    # True for token and authorize: the task's arguments outside ARGUMENT_SPEC are profile options, merged over the
    # named profile (self.profile_options) and checked by resolve_profile, whose messages name the profile.
    TAKES_PROFILE_OPTIONS = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModuleBase, self).run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.6
        arguments = dict(self._task.args)
        self.profile_options = {}
        if self.TAKES_PROFILE_OPTIONS:
            self.profile_options = dict((k, arguments.pop(k)) for k in list(arguments) if k not in self.ARGUMENT_SPEC)
        hidden = self.no_log_values(native(arguments))
        shapes = dict((name, shape_problem(name, self.ARGUMENT_SPEC[name], value))
                      for name, value in arguments.items() if name in self.ARGUMENT_SPEC)
        problems = [shapes[name] for name in sorted(shapes) if shapes[name]]
        # Each wrong option said once: one of the wrong shape is checked no further.
        validation = ArgumentSpecValidator(dict((k, v) for k, v in self.ARGUMENT_SPEC.items() if not shapes.get(k))) \
            .validate(dict((k, v) for k, v in arguments.items() if not shapes.get(k)))
        problems += validation.error_messages
        try:
            if problems:
                result.update(failed=True, msg='; '.join(problems))
            else:
                result = self.run_action(validation.validated_parameters, task_vars or {}, result)
        except OAuth2Error as exc:
            result.update(failed=True, msg=str(exc), **exc.as_dict())
        except VarsFileError as exc:
            result.update(failed=True, msg=to_text(exc))
        # Whatever happened, no value of a no_log option leaves the plugin (an error message may quote one).
        return remove_values(result, hidden) if hidden else result

    def no_log_values(self, arguments):
        """The strings no result of this task may show: the values of the options ARGUMENT_SPEC marks no_log, in
        ARGUMENTS (the task's own, as plain data)."""
        hidden = set()
        for name, option in self.ARGUMENT_SPEC.items():
            if option.get('no_log'):
                hidden.update(no_log_strings(arguments.get(name)))
        return hidden

    def run_action(self, task, task_vars, result):
        """The plugin's work, with TASK the task's options as the spec made them; returns RESULT, updated. An OAuth2Error or a
        VarsFileError raised here becomes a failed result."""
        raise NotImplementedError
