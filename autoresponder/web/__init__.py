"""Web pages for mailbox owners (out of office) and template editors, served by
``serve --http`` beside the HTTP API: server-rendered HTML (Jinja2, autoescaped), a little
external JavaScript, no build step. ``make_app(config, auth)`` returns the aiohttp
sub-application that the API's app mounts under ``/web/``.

Never imported on the per-message path (``deliver``)."""


def make_app(config, auth, sessions=None):
    from autoresponder.web.app import build

    return build(config, auth, sessions)
