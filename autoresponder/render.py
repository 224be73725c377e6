"""Reply templates: Jinja2 in a sandbox, strict about unknown names, in two languages.

Templates are files ``NAME.LANG.txt`` (required) and ``NAME.LANG.html`` (optional HTML
alternative) in the configured directory, else the bundled ``templates/``. A template may set
``subject`` at top level; the account's own subject wins over it, and ``Auto: <original>``
(RFC 3834 §3.1.5) is the fallback. The context is documented in README.md ("Templates").
Everything here is imported only when a reply is actually due.
"""

import os
from datetime import datetime, timedelta, timezone

import jinja2
import jinja2.meta

from autoresponder import dates
from autoresponder.sandbox import (RENDER_MAX_CHARS, RENDER_MEMORY, RENDER_TIMEOUT,
                                   BoundedEnvironment, OverLimit, render_text)
from autoresponder.replytext import (  # noqa: F401 - re-exported
    LANGUAGES, Rendered, TemplateError, pick_language)
from autoresponder.resources import template_dirs

# Context names whose value changes from one message to the next: a template using none of
# them renders the same for every message and may be memoised (autoresponder.rendercache).
PER_MESSAGE = {"sender", "original", "now"}
CONTEXT_NAMES = {"account", "sender", "original", "now", "interval", "language", "format_date",
                 "subject"}

_MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
    "pt": ["janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto",
           "setembro", "outubro", "novembro", "dezembro"],
}
_UNITS = {
    "en": (("week", "weeks", 604800), ("day", "days", 86400), ("hour", "hours", 3600),
           ("minute", "minutes", 60), ("second", "seconds", 1)),
    "pt": (("semana", "semanas", 604800), ("dia", "dias", 86400), ("hora", "horas", 3600),
           ("minuto", "minutos", 60), ("segundo", "segundos", 1)),
}


def environment(config) -> BoundedEnvironment:
    """The sandbox every template renders in, with the config's bounds (sandbox.py), built
    once per config object: `serve` keeps one config for many messages, so its compiled
    templates stay cached (edited template files are still noticed: the loader checks their
    mtime). Safe to share across threads: the render deadline is kept per thread."""
    env = getattr(config, "_jinja_environment", None)
    if env is not None:
        return env
    env = BoundedEnvironment(
        max_chars=getattr(config, "render_max_chars", RENDER_MAX_CHARS),
        timeout=getattr(config, "render_timeout", RENDER_TIMEOUT),
        loader=jinja2.FileSystemLoader(template_dirs(config)),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",),
                                            default_for_string=False, default=False),
        keep_trailing_newline=False,
        trim_blocks=False,
    )
    try:
        config._jinja_environment = env
    except AttributeError:
        pass
    return env


def humanize_seconds(seconds: int, language: str) -> str:
    units = _UNITS.get(language, _UNITS["en"])
    if seconds <= 0:
        return {"pt": "mensagem"}.get(language, "message")
    parts = []
    for one, many, size in units:
        if seconds >= size:
            n, seconds = divmod(seconds, size)
            parts.append(f"{n} {one if n == 1 else many}")
    joiner = " e " if language == "pt" else " and "
    return joiner.join(parts[:2])


def make_format_date(language: str, tz_name: str):
    z = dates.zone(tz_name)
    months = _MONTHS.get(language, _MONTHS["en"])

    def format_date(value, style: str = "date") -> str:
        """A date in the account's language and zone. Styles: date, datetime, time, back
        (the last day away, for an end that is exclusive: midnight counts as the day before)."""
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            value = dates.from_iso(value)
        local = value.astimezone(z)
        if style == "back":
            if (local.hour, local.minute, local.second) == (0, 0, 0):
                local = local - timedelta(seconds=1)
                style = "date"
            else:
                style = "datetime"
        if language == "pt":
            day = f"{local.day} de {months[local.month - 1]} de {local.year}"
        else:
            day = f"{local.day} {months[local.month - 1]} {local.year}"
        clock = local.strftime("%H:%M")
        if style == "time":
            return clock
        if style == "datetime":
            return f"{day}, {clock}" if language == "pt" else f"{day}, {clock}"
        return day

    return format_date


def build_context(config, account, language: str, sender: str = "", original=None,
                  now: "datetime | None" = None) -> dict:
    now = now or datetime.now(timezone.utc)
    from autoresponder.derived import effective_interval

    interval = effective_interval(account, config)
    zone = getattr(account, "timezone", None) or config.timezone  # the account's own zone
    return {
        "account": {
            "address": account.address,
            "name": account.from_name or "",
            "message": account.message or "",
            "start": dates.from_iso(account.start_at) if account.start_at else None,
            "end": dates.from_iso(account.end_at) if account.end_at else None,
            "language": language,
            "timezone": zone,
            "aliases": list(account.aliases),
        },
        "sender": sender,
        "original": original or {"subject": "", "date": "", "message_id": "", "from": ""},
        "now": now,
        "interval": humanize_seconds(interval, language),
        "language": language,
        "format_date": make_format_date(language, zone),
    }


def _load(env, name: str, language: str, ext: str):
    try:
        return env.get_template(f"{name}.{language}.{ext}")
    except jinja2.TemplateNotFound:
        return None
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"{e.filename or e.name}:{e.lineno}: {e.message}") from None
    except (UnicodeDecodeError, OSError) as e:
        raise TemplateError(f"{name}.{language}.{ext}: cannot read it: {e}") from None


def render(config, account, language: str, context: dict, env=None) -> Rendered:
    """Render the account's template; TemplateError on any problem (never half a reply)."""
    env = env or environment(config)
    name = account.template or "default"
    if "/" in name or name.startswith("."):
        raise TemplateError(f"invalid template name {name!r}")
    text_t = _load(env, name, language, "txt")
    if text_t is None:
        for fallback in (config.language, "en", "pt"):
            text_t = _load(env, name, fallback, "txt")
            if text_t is not None:
                language = fallback
                break
    if text_t is None:
        raise TemplateError(f"no template {name}.{language}.txt in "
                            f"{', '.join(template_dirs(config))}")
    html_t = _load(env, name, language, "html")
    try:
        text, exported = render_text(env, text_t, context)
        text = text.strip("\n") + "\n"
        tpl_subject = exported.get("subject")
        html = render_text(env, html_t, context)[0] if html_t is not None else None
    except OverLimit as e:
        raise TemplateError(f"{name}.{language}: {e}") from None
    except MemoryError:
        raise TemplateError(f"{name}.{language}: needs more memory than a rendering may use "
                            f"({RENDER_MEMORY >> 20} MiB)") from None
    except jinja2.TemplateError as e:
        raise TemplateError(f"{name}.{language}: {type(e).__name__}: {e}") from None
    except Exception as e:  # a filter or helper blowing up is a template problem too
        raise TemplateError(f"{name}.{language}: {type(e).__name__}: {e}") from None
    subject = account.subject or (str(tpl_subject) if tpl_subject else "")
    cacheable = all(_account_only(env, t) for t in (text_t, html_t) if t is not None)
    return Rendered(subject, text, html, language, name, cacheable)


def _account_only(env, template) -> bool:
    """True if the template uses no per-message name and pulls in no other template.

    Remembered on the compiled template: an environment kept for many messages (`serve`)
    returns the same Template object until the file changes, so the source is parsed once."""
    known = getattr(template, "_autoresponder_account_only", None)
    if known is None:
        known = _parse_account_only(env, template)
        try:
            template._autoresponder_account_only = known
        except AttributeError:
            pass
    return known


def _parse_account_only(env, template) -> bool:
    try:
        source = env.loader.get_source(env, template.name)[0]
        ast = env.parse(source)
    except Exception:
        return False
    if any(True for _ in ast.find_all((jinja2.nodes.Include, jinja2.nodes.Extends,
                                       jinja2.nodes.Import, jinja2.nodes.FromImport))):
        return False
    return not (jinja2.meta.find_undeclared_variables(ast) & PER_MESSAGE)


def render_static(config, account) -> "tuple[str, str, str | None]":
    """The account's reply without a particular incoming message (for Sieve's vacation)."""
    language = pick_language(account.language, None, config.language)
    ctx = build_context(config, account, language)
    r = render(config, account, language, ctx)
    return (r.subject or {"pt": "Resposta automática"}.get(r.language, "Automated reply"),
            r.text, r.html)


def undeclared_names(env, source: str) -> "set[str]":
    """Names a template uses that the context does not provide (caught before use)."""
    ast = env.parse(source)
    return jinja2.meta.find_undeclared_variables(ast) - CONTEXT_NAMES


def list_templates(config) -> "list[tuple[str, str, str, str]]":
    """(name, language, ext, path) of every template file, the configured dir first."""
    seen, out = set(), []
    for d in template_dirs(config):
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            parts = f.split(".")
            if len(parts) == 3 and parts[2] in ("txt", "html") and f not in seen:
                seen.add(f)
                out.append((parts[0], parts[1], parts[2], os.path.join(d, f)))
    return out
