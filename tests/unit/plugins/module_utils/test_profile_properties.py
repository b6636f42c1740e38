# -*- coding: utf-8 -*-
"""Property-based: whatever a profile holds (wrong types, empty values, unknown keys, unicode, very long values),
building it either succeeds or raises ProfileError with the profile's name; never any other exception."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.tokenops.oauth2.plugins.module_utils.errors import ProfileError
from ansible_collections.tokenops.oauth2.plugins.module_utils.grants import build_token_request
from ansible_collections.tokenops.oauth2.plugins.module_utils.profile import PROFILE_OPTIONS, build_profile

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20),
    st.text(min_size=5000, max_size=6000), st.just(''), st.just('https://idp.example/token'),
    st.sampled_from(['client_credentials', 'password', 'authorization_code', 'refresh_token', 'none',
                     'client_secret_post', 'harbor_lockers', 'depotfinity', '0100A1', '1000', 'sandbox', 'ünïcødé☃']))
values = st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=5), scalars, max_size=3))
keys = st.one_of(st.sampled_from(sorted(PROFILE_OPTIONS)), st.text(max_size=12))
profiles = st.dictionaries(keys, values, max_size=12)
BASE = dict(token_url='https://idp.example/token', client_id='app', client_secret='s3cret')


@settings(max_examples=200, deadline=None)
@given(profiles)
def test_any_profile_builds_or_fails_cleanly(data):
    try:
        profile = build_profile('fuzz', data)
    except ProfileError as exc:
        assert "profile 'fuzz'" in str(exc)
        return
    request = build_token_request(profile, profile.get('token_url') or 'https://idp.example/token')
    assert request.form['grant_type'] == profile['grant_type']


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(PROFILE_OPTIONS)), values, max_size=6))
def test_overrides_over_a_valid_profile_build_or_fail_cleanly(overrides):
    try:
        build_profile('fuzz', BASE, overrides)
    except ProfileError as exc:
        assert "profile 'fuzz'" in str(exc)
