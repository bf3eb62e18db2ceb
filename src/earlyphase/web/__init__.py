"""earlyphase.web: the web door (FastAPI, server-rendered Jinja2 pages). Start it with ``earlyphase serve``.

- ``app``: routes; each asks ``earlyphase.access`` and calls one function of the layers below.
- ``sessions``: browser sessions stored in the database (idle timeout, rotation at login).
- ``security``: the headers every response carries (CSP, frame-ancestors, nosniff) and the CSRF check.
"""
