"""``autoresponder template check``: catch a broken template before mail arrives.

Every template file is compiled, scanned for names the context does not provide (even in
branches sample data would not take), and rendered in the sandbox with two sample contexts
(an account with dates and a message, and one with neither), strictly: an unknown variable,
a sandbox violation, a filter error or a bound of the sandbox (render_timeout,
render_max_chars) fails the check.
"""

import sys
from datetime import datetime, timedelta, timezone

from autoresponder.outcomes import Exit as exits


class _SampleAccount:
    def __init__(self, full: bool, template: str, language: str):
        now = datetime.now(timezone.utc)
        self.address = "ana@example.com"
        self.from_name = "Ana Silva" if full else None
        self.message = "Back soon.\nFor urgent matters call +351 210 000 000." if full else None
        self.start_at = (now - timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z") if full else None
        self.end_at = (now + timedelta(days=7)).strftime("%Y-%m-%dT00:00:00Z") if full else None
        self.subject = None
        self.template = template
        self.language = language
        self.interval_seconds = None
        self.aliases = ["ana.silva@example.com"] if full else []


def check(config, name: "str | None" = None) -> "list[tuple[str, str | None]]":
    """(template file, None if fine else the error) for each template checked."""
    from autoresponder import render
    from autoresponder.sandbox import OverLimit, render_text

    env = render.environment(config)
    results = []
    templates = [t for t in render.list_templates(config) if name is None or t[0] == name]
    for tname, lang, ext, path in templates:
        label = f"{tname}.{lang}.{ext} ({path})"
        try:
            with open(path, encoding="utf-8") as f:
                source = f.read()
            unknown = render.undeclared_names(env, source)
            if unknown:
                results.append((label, "unknown variable(s): " + ", ".join(sorted(unknown))))
                continue
            if ext == "txt":
                for full in (True, False):
                    acct = _SampleAccount(full, tname, lang)
                    ctx = render.build_context(config, acct, lang, "bob@example.org", {
                        "subject": "Lunch?" if full else "", "date": "", "from": "",
                        "message_id": "<x@example.org>" if full else ""})
                    r = render.render(config, acct, lang, ctx, env)
                    if "\n" in (r.subject or "") or "\r" in (r.subject or ""):
                        raise render.TemplateError("the subject spans several lines")
                    if not r.text.strip():
                        raise render.TemplateError("the text renders empty")
            else:
                acct = _SampleAccount(True, tname, lang)
                ctx = render.build_context(config, acct, lang, "bob@example.org")
                render_text(env, env.get_template(f"{tname}.{lang}.{ext}"), ctx)
            results.append((label, None))
        except render.TemplateError as e:
            results.append((label, str(e)))
        except OverLimit as e:  # the bounds of sandbox.py (time, size)
            results.append((label, str(e)))
        except MemoryError:
            results.append((label, "needs more memory than a rendering may use"))
        except Exception as e:  # jinja2 errors (syntax, sandbox, undefined) and I/O
            results.append((label, f"{type(e).__name__}: {e}"))
    return results


def run(args, config) -> int:
    results = check(config, args.name)
    if not results:
        print(f"autoresponder: no template named {args.name!r}" if args.name else
              "autoresponder: no templates found", file=sys.stderr)
        return exits.DATAERR
    bad = 0
    for label, error in results:
        if error:
            bad += 1
            print(f"FAIL {label}: {error}")
        else:
            print(f"ok   {label}")
    return exits.DATAERR if bad else exits.OK
