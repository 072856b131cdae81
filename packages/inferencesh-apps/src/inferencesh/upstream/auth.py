"""``Auth``: how an app authenticates to a vendor, bound to the secrets that hold the values.

The kinds follow OpenAPI's security schemes: ``api_key`` (in a header, the query or a cookie),
``http`` (``bearer`` or ``basic``) and ``oauth2`` (the ``client_credentials`` flow fetches and
caches a token; other flows send a token the platform injects as a bearer token). Every secret
is the name of an environment variable, read on every request.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from inferencesh.upstream.errors import MissingSecret

__all__ = ["Auth", "MissingSecret", "secret"]


@dataclass(frozen=True)
class Auth:
    """One way to authenticate.

    * ``Auth("api_key", secret="ACME_KEY", location="header", name="X-API-Key", prefix="")``:
      ``location`` is ``header``, ``query`` or ``cookie``; the value sent is ``prefix + key``.
    * ``Auth("http", secret="ACME_TOKEN")`` sends ``Authorization: Bearer <token>``;
      ``Auth("http", scheme="basic", username_secret="U", password_secret="P")`` basic auth.
    * ``Auth("oauth2", flow="client_credentials", token_url=..., client_id_secret=...,
      client_secret_secret=..., scopes=(...))`` fetches a token (cached until a minute before
      it expires); ``Auth("oauth2", secret="ACME_TOKEN")`` sends an injected token as bearer.
    """

    kind: str
    secret: str = ""
    location: str = "header"
    name: str = "Authorization"
    prefix: str = ""
    scheme: str = "bearer"
    username_secret: str = ""
    password_secret: str = ""
    flow: str = ""
    token_url: str = ""
    client_id_secret: str = ""
    client_secret_secret: str = ""
    scopes: Sequence[str] = ()


def secret(name: str) -> str:
    """The value of the secret ``name`` (an environment variable), read now.

    Raises ``MissingSecret`` when the name is empty or the variable is unset or empty.
    """
    value = os.environ.get(name, "") if name else ""
    if not value:
        shown = name or "(no secret named)"
        raise MissingSecret(f"{shown} is not set: add it as a secret of the app")
    return value
