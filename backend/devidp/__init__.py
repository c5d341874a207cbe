"""A small OpenID Connect provider for DEVELOPMENT AND TESTS ONLY: never mount it in the production app.

`make run` starts it next to parboard so a newcomer can sign in as one of the fictional demo people of
`tenants/*/province.yaml`; the tests use it as a real provider (its own ASGI app, served over HTTP) that
enforces PKCE. One issuer per province, each with its own signing key generated at startup, and all of
its state (codes, access tokens) in memory: restarting it forgets everything.
"""

from backend.devidp.app import create_dev_idp, dev_provinces_from_config
from backend.devidp.keys import DevIdentityProvider, dev_idp_of
from backend.devidp.server import DevIdPServer
from backend.devidp.stores import DevClient, DevPerson, DevProvince

__all__ = [
    "DevClient",
    "DevIdPServer",
    "DevIdentityProvider",
    "DevPerson",
    "DevProvince",
    "create_dev_idp",
    "dev_idp_of",
    "dev_provinces_from_config",
]
