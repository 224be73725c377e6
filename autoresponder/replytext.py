"""The rendered text of a reply, and the choice of its language: nothing here needs Jinja2."""

LANGUAGES = ("en", "pt")


class TemplateError(Exception):
    """A template is missing, does not compile, or fails to render (with the why)."""


class Rendered:
    """Subject (may be empty: then ``Auto: <original subject>``), text, optional HTML."""

    __slots__ = ("subject", "text", "html", "language", "template", "cacheable")

    def __init__(self, subject: str, text: str, html: "str | None", language: str,
                 template: str, cacheable: bool = False):
        self.subject, self.text, self.html = subject, text, html
        self.language, self.template, self.cacheable = language, template, cacheable


def pick_language(account_language, message, default: str) -> str:
    """The account's language, else the message's Content-Language / Accept-Language, else
    the configured default."""
    if account_language in LANGUAGES:
        return account_language
    if message is not None:
        for name in ("content-language", "accept-language"):
            for v in message.get_all(name):
                for item in v.split(","):
                    tag = item.split(";", 1)[0].strip().lower()
                    primary = tag.split("-", 1)[0]
                    if primary in LANGUAGES:
                        return primary
    return default if default in LANGUAGES else "en"
