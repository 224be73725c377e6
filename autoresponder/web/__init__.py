"""Web pages for mailbox owners (out of office) and template editors, served by
``serve --http`` beside the HTTP API: server-rendered HTML (Jinja2, autoescaped), a little
external JavaScript, no build step. ``make_app(config, auth)`` returns the aiohttp
sub-application that the API's app mounts under ``/web/``.

Never imported on the per-message path (``deliver``)."""


def install(app) -> None:
    """Mount the pages under /web/ on the HTTP API's app (autoresponder.http.app's route
    installers), with the API's config, authenticator and store thread; / leads to them."""
    from aiohttp import web

    from autoresponder.http.app import AUTH, CONFIG, STORE
    from autoresponder.web.app import build
    from autoresponder.web.auth import ApiAuth

    app.add_subapp("/web/", build(app[CONFIG], ApiAuth(app[AUTH]), app[STORE].call))

    async def root(_request):
        raise web.HTTPSeeOther("/web/")

    app.router.add_get("/", root)
