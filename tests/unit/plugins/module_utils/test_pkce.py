# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.tokenops.oauth2.plugins.module_utils.pkce import (
    VERIFIER_PATTERN, Pkce, code_challenge, new_code_verifier, new_state, same_secret)


def test_rfc7636_appendix_b_example():
    assert code_challenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk') == \
        'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'


def test_verifiers_are_long_unreserved_and_fresh():
    verifiers = set(new_code_verifier() for _i in range(50))
    assert len(verifiers) == 50
    assert all(VERIFIER_PATTERN.match(v) and len(v) == 64 for v in verifiers)


def test_a_verifier_shorter_than_43_characters_is_refused():
    with pytest.raises(ValueError):
        new_code_verifier(16)
    with pytest.raises(ValueError):
        code_challenge('x' * 42)
    with pytest.raises(ValueError):
        code_challenge('x' * 42 + '!')  # not an unreserved character


def test_only_s256():
    with pytest.raises(ValueError, match='only the S256'):
        code_challenge('x' * 43, method='plain')


def test_pair_is_consistent_and_has_no_padding():
    pair = Pkce()
    assert pair.method == 'S256' and pair.challenge == code_challenge(pair.verifier)
    assert len(pair.challenge) == 43 and '=' not in pair.challenge
    assert Pkce('a' * 43).challenge == code_challenge('a' * 43)


def test_states_are_fresh_and_compared_strictly():
    states = set(new_state() for _i in range(50))
    assert len(states) == 50 and all(len(s) == 32 for s in states)
    state = new_state()
    assert same_secret(state, state)
    assert not same_secret(state, state[:-1])
    assert not same_secret(state, None) and not same_secret(None, None) and not same_secret('', '')
