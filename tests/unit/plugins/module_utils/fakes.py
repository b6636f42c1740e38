# -*- coding: utf-8 -*-
"""A stub transport for unit tests: answers from a script and records what was sent (integration tests use real
servers; only unit tests stub HTTP)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.tokenops.oauth2.plugins.module_utils.transport import HttpResponse


def json_response(body, status=200, url='https://idp.example/token', headers=None):
    merged = {'Content-Type': 'application/json'}
    merged.update(headers or {})
    return HttpResponse(url, status, merged, json.dumps(body))


def text_response(text, status=200, content_type='text/html', url='https://idp.example/token'):
    return HttpResponse(url, status, {'Content-Type': content_type}, text)


class FakeTransport(object):
    def __init__(self, *responses):
        self.responses = list(responses)
        self.calls = []

    def request(self, method, url, retry_safe=True, deadline_at=None, option='token_url', **kwargs):
        self.calls.append(dict(method=method, url=url, retry_safe=retry_safe, **kwargs))
        answer = self.responses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
