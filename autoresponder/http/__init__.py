"""The HTTP side of `serve`: a JMAP VacationResponse API (RFC 8620, RFC 8621 section 8) and the
authentication the web pages share with it, on aiohttp.

Modules: `app` (build_app: the aiohttp Application and the one list of route installers),
`auth` (Principal, bearer tokens, HTTP Basic checked by the mail server, rate limits),
`tokens` (making and checking API tokens; also used by the CLI), `imapauth` (the IMAP LOGIN
check), `ratelimit` (bounded failure counters), `jmap` (Session resource and API endpoint),
`vacation` (VacationResponse <-> the stored account), `server` (the `serve` child that runs
the app on its listeners), `cli` (`autoresponder token ...`).

Nothing here is imported on the delivery path (tests/test_lazy_imports.py): aiohttp is
imported only by `serve --http` and by the tests.
"""
