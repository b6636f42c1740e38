# -*- coding: utf-8 -*-
# Copyright: tokenops engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The shared token store's settings, documented once. The lookup declares them (with their ansible.cfg, environment
    # and variable sources) and the token action plugin reads them through the lookup's configuration, so both agree.
    # cache_url and cache_fallback are profile keys too (doc fragment tokenops.oauth2.profile), which win. The TLS
    # files are type str, not path: an empty value (AWX injects one for an input left empty) means unset, where
    # ansible's path type would turn it into the current directory; store_settings expands ~ itself.
    DOCUMENTATION = r'''
options:
  cache_url:
    description:
      - A Redis that every controller (and every AWX job) shares as the token cache, so that they send one token
        request per profile and expiry window between them and a rotating refresh token is never spent twice.
      - V(redis://[user@]host[:port][/db]), V(rediss://[user@]host[:port][/db]) (TLS, see O(cache_ca_path)),
        V(unix:///path/to/socket[?db=N]) or V(redis+sentinel://[user@]host:port[,host:port...]/service_name[/db])
        (the primary found through Redis Sentinel, which follows a failover).
      - The user is the store's ACL user. A password in the URL is refused; give it as O(cache_password).
      - The user needs no more than C(~tokenops-oauth2:* resetchannels &tokenops-oauth2:* -@all +eval +hmget +get
        +set +pttl +subscribe +ping +wait +hget +hset +del +pexpire +persist +publish +time).
      - Entries are encrypted on the controller with a key derived from the profile's secret and O(cache_key);
        Redis sees ciphertext under names that reveal no client, URL or user. Needs the Python library C(redis)
        on the controller.
      - Unset, the controller's file cache (O(cache_dir)) is used.
    type: str
    env:
      - name: TOKENOPS_OAUTH2_CACHE_URL
    ini:
      - section: tokenops_oauth2
        key: cache_url
  cache_password:
    description:
      - The password of the ACL user in O(cache_url) (or of the default user). Never printed.
      - From the environment variable, or from the variable C(tokenops_oauth2_cache_password) (vault it), which is
        templated like a profile.
    type: str
    env:
      - name: TOKENOPS_OAUTH2_CACHE_PASSWORD
    vars:
      - name: tokenops_oauth2_cache_password
  cache_key:
    description:
      - The shared store key, required with O(cache_url), the same on every controller sharing the store. It and the
        profile's secret derive the key that encrypts each entry, so whoever reads Redis (or its dump) without it
        learns nothing. At least 32 characters (C(openssl rand -base64 32)). Never printed.
      - From the environment variable, or from the variable C(tokenops_oauth2_cache_key) (vault it), or from
        O(cache_key_file).
    type: str
    env:
      - name: TOKENOPS_OAUTH2_CACHE_KEY
    vars:
      - name: tokenops_oauth2_cache_key
  cache_key_file:
    description:
      - A file on the controller whose first line is the shared store key, for when O(cache_key) is not set.
      - It must be a regular file of the user running Ansible (or of root) that nobody else can read or change
        (mode C(0600) or C(0400)); a symbolic link to one is followed.
    type: str
    env:
      - name: TOKENOPS_OAUTH2_CACHE_KEY_FILE
    ini:
      - section: tokenops_oauth2
        key: cache_key_file
  cache_fallback:
    description:
      - What to do when the shared store (O(cache_url)) cannot be used (unreachable, refusing the login, full).
        V(local) uses the controller's own cache (one warning per run), V(fail) fails with the store's URL (never
        its password). A profile's own C(cache_fallback) wins.
      - Defaults to V(fail) for profiles with O(tokenops.oauth2.token#module:grant_type=refresh_token) or
        O(tokenops.oauth2.token#module:grant_type=authorization_code), whose renewal spends a single-use refresh
        token that another controller may already have rotated, and to V(local) for the other grants, which can
        always obtain a new token with the profile's own credentials.
    type: str
    choices: [local, fail]
    env:
      - name: TOKENOPS_OAUTH2_CACHE_FALLBACK
    ini:
      - section: tokenops_oauth2
        key: cache_fallback
  cache_ca_path:
    description: For a V(rediss://) O(cache_url), the CA bundle (PEM) that signed the server's certificate.
    type: str
    env:
      - name: TOKENOPS_OAUTH2_CACHE_CA_PATH
    ini:
      - section: tokenops_oauth2
        key: cache_ca_path
  cache_client_cert:
    description: For a V(rediss://) O(cache_url) that wants client certificates, the certificate (PEM).
    type: str
    env:
      - name: TOKENOPS_OAUTH2_CACHE_CLIENT_CERT
    ini:
      - section: tokenops_oauth2
        key: cache_client_cert
  cache_client_key:
    description: The private key of O(cache_client_cert), when it is not in the same file.
    type: str
    env:
      - name: TOKENOPS_OAUTH2_CACHE_CLIENT_KEY
    ini:
      - section: tokenops_oauth2
        key: cache_client_key
'''
