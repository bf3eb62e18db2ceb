"""earlyphase.access: who may do what, where.

- ``roles``: the roles and the permission table (action x role); denied by default.
- ``accounts``: add a user, grant/revoke ``ROLE@SITE``, disable, reset a password (all audited).
- ``login``: password + TOTP with lockout; ``reauthenticate`` (password AND TOTP) before a signature; ``totp``: RFC 6238 codes; ``passwords``: argon2id.
- ``scope``: the sites at which a user's grants allow an action (``sites_for``, ``may``).
"""

from earlyphase.access.accounts import ALL_SITES, AccessDenied, Account, Grant, add_account, add_user, disable_user, reset_password, set_role, show_user
from earlyphase.access.login import LoggedIn, authenticate, reauthenticate
from earlyphase.access.roles import ACTIONS, PERMISSIONS, ROLES, role_may
from earlyphase.access.scope import EVERY_SITE, may, sites_for

__all__ = ["ACTIONS", "ALL_SITES", "AccessDenied", "Account", "add_account", "EVERY_SITE", "Grant", "LoggedIn", "PERMISSIONS", "ROLES",
           "add_user", "authenticate", "reauthenticate", "disable_user", "may", "reset_password", "role_may", "set_role", "show_user",
           "sites_for"]
