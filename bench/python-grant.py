#!/usr/bin/python3
"""Obtain a token the way a Python script on Debian would, for comparison.

Reads the IFS password with the keyring package (its Secret Service
backend), performs the OAuth 2.0 password grant with requests-oauthlib and
prints the access token. Run by bench/run.sh inside
tests/harness/with-services.sh.

Usage:
    python-grant.py store         # read the password from stdin, store it
    python-grant.py               # print an access token

Settings come from the environment, never a secret: BENCH_TOKEN_URL,
BENCH_CA_FILE, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET_FILE (a file of mode
0600 that contains the client secret), BENCH_IFS_USER, BENCH_SCOPE.
"""
import os
import sys

import keyring

SERVICE = "flowcred-bench"
FLOW_USER = "bench-machine"


def store():
    password = sys.stdin.read()
    keyring.set_password(SERVICE, FLOW_USER, password)


def print_token():
    from oauthlib.oauth2 import LegacyApplicationClient
    from requests_oauthlib import OAuth2Session

    password = keyring.get_password(SERVICE, FLOW_USER)
    if password is None:
        sys.exit("python-grant.py: no password in the keyring; run 'store' first")
    with open(os.environ["BENCH_CLIENT_SECRET_FILE"], encoding="utf-8") as f:
        client_secret = f.read()
    client_id = os.environ["BENCH_CLIENT_ID"]
    scope = os.environ["BENCH_SCOPE"].split()
    session = OAuth2Session(client=LegacyApplicationClient(client_id=client_id),
                            scope=scope)
    # requests-oauthlib 1.3 leaves the session's scope out of a password
    # grant's body, so it is passed again.
    token = session.fetch_token(token_url=os.environ["BENCH_TOKEN_URL"],
                                username=os.environ["BENCH_IFS_USER"],
                                password=password, client_id=client_id,
                                client_secret=client_secret, scope=scope,
                                include_client_id=True,
                                verify=os.environ["BENCH_CA_FILE"], timeout=30)
    print(token["access_token"])


if __name__ == "__main__":
    if sys.argv[1:] == ["store"]:
        store()
    elif not sys.argv[1:]:
        print_token()
    else:
        sys.exit("usage: python-grant.py [store]")
