"""Issue 9 item 12: a template cannot take unbounded time or memory. Each bound refuses in the
sandbox; at delivery that is a template-error (exit 0, no reply, the claim released), and
`template check` fails the template. The `timeout=` of each process run only keeps a
regression from hanging the suite; nothing here measures speed."""

from __future__ import annotations

import resource
import signal
import threading

import pytest

from autoresponder.sandbox import BoundedEnvironment, OverLimit, render_text
from tests.conftest import personal

NESTED = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"

# Each asks for far more than render_max_chars (1,000,000) or 2**65536.
HUGE = {
    "repeat": "{{ 'x' * 10**9 }}",
    "repeat-list": "{{ (['x'] * 10**9)|length }}",
    "power": "{{ 2 ** 100000000 }}",
    "square-loop": "{% set ns = namespace(n=3) %}{% for i in range(40) %}"
                   "{% set ns.n = ns.n * ns.n %}{% endfor %}",
    "concat": "{% set a = 'x' * 600000 %}{% set b = a + a %}",
    "tilde-chain": "{% set a = 'x' * 600000 %}{% set b = a ~ a %}{% set c = b ~ b %}",
    "namespace-doubling": "{% set ns = namespace(s='x') %}{% for i in range(40) %}"
                          "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "macro-doubling": "{% macro d(s, n) %}{{ d(s ~ s, n - 1) if n else s|length }}"
                      "{% endmacro %}{{ d('x', 40) }}",
    "ljust": "{{ 'x'.ljust(10**9) }}",
    "zfill": "{{ '1'.zfill(10**9) }}",
    "expandtabs": "{{ ('\\t' * 1000).expandtabs(10**6) }}",
    "str-replace": "{{ ('x' * 1000).replace('x', 'y' * 10**4) }}",
    "str-join": "{{ ('x' * 100000).join(['a'] * 1000) }}",
    "format-width": "{{ '{:>1000000000}'.format('x') }}",
    "format-nested": "{{ '{:>{w}}'.format('x', w=10**9) }}",
    "format-map": "{{ '{x:>{w}}'.format_map({'x': 'y', 'w': 10**9}) }}",
    "percent-width": "{{ '%1000000000s' % 'x' }}",
    "percent-star": "{{ '%*s' % (10**9, 'x') }}",
    "percent-precision": "{{ '%.1000000000f' % 1.5 }}",
    "filter-center": "{{ 'x'|center(10**9) }}",
    "filter-indent": "{{ ('x\\n' * 100000)|indent(1000) }}",
    "filter-wordwrap": "{{ ('x ' * 400000)|wordwrap(1, wrapstring='-' * 100) }}",
    "filter-replace": "{{ ('x' * 1000)|replace('x', 'x' * 1000)|replace('x', 'x' * 1000) }}",
    "filter-join": "{{ range(100000)|join('x' * 100000) }}",
    "filter-join-generator": "{{ range(100000)|map('string')|join('-' * 1000) }}",
    "filter-format": "{{ '%1000000000s'|format('x') }}",
    "str-translate": "{{ ('x' * 100000).translate({120: 'y' * 100000}) }}",
    "filter-batch": "{{ [1]|batch(10**9, 'x')|list|length }}",
    "filter-tojson": "{{ [1]|tojson(indent=10**9) }}",
    "list-extend": "{% set ns = namespace(l=[]) %}{% for i in range(100) %}"
                   "{{ ns.l.extend(range(100000)) }}{% endfor %}",
    "list-extend-generator": "{% set ns = namespace(l=[]) %}{% for i in range(100) %}"
                             "{{ ns.l.extend(range(100000)|map('string')) }}{% endfor %}",
    "dict-update": "{% set ns = namespace(d={}) %}{% for i in range(100) %}"
                   "{{ ns.d.update(dict.fromkeys(range(i * 100000, (i + 1) * 100000))) }}"
                   "{% endfor %}",
    "output": "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
    "output-one-value": "{{ 'x' * 900000 }}{{ 'y' * 900000 }}",
}


@pytest.fixture
def env():
    return BoundedEnvironment(timeout=1)


@pytest.mark.parametrize("name", sorted(HUGE))
def test_huge_values_are_refused(name):
    env = BoundedEnvironment(timeout=60)  # the size checks refuse, not the clock
    with pytest.raises(OverLimit, match="render_max_chars|bits"):
        render_text(env, env.from_string(HUGE[name]), {})


def test_growing_a_list_item_by_item_is_bounded(env):
    """A million calls take about as long as the deadline: one bound or the other stops it."""
    src = ("{% set l = [] %}{% for i in range(100000) %}{% for j in range(100) %}"
           "{{ l.append(j) }}{% endfor %}{% endfor %}")
    with pytest.raises(OverLimit, match="render_max_chars|render time limit"):
        render_text(env, env.from_string(src), {})


def test_lipsum_is_not_offered(env):
    with pytest.raises(Exception, match="lipsum"):
        render_text(env, env.from_string("{{ lipsum(10**6) }}"), {})


def test_nested_loops_hit_the_deadline(env):
    with pytest.raises(OverLimit, match="render_timeout = 1s"):
        render_text(env, env.from_string(NESTED), {})


def test_the_deadline_holds_outside_the_main_thread_too(env):
    """No SIGALRM there (serve renders in worker threads): the loops check the clock."""
    got: list = []

    def run():
        try:
            render_text(env, env.from_string(NESTED), {})
        except OverLimit as e:
            got.append(str(e))

    t = threading.Thread(target=run)
    t.start()
    t.join(timeout=60)
    assert not t.is_alive() and got and "render time limit" in got[0]


def test_the_alarm_stops_work_that_yields_nothing_and_is_put_back(env):
    seen: list = []
    old = signal.signal(signal.SIGALRM, lambda *a: seen.append("outer"))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        with pytest.raises(OverLimit, match="render time limit"):
            with env.bounds():
                while True:  # stands for any Python work no check sees
                    pass
        assert signal.getsignal(signal.SIGALRM) is not None
        remaining = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 20 < remaining <= 30  # the outer timer runs on
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert seen == []


def test_memory_is_capped_while_rendering_and_restored_after(env):
    before = resource.getrlimit(resource.RLIMIT_AS)
    with pytest.raises(MemoryError):
        with env.bounds():
            bytearray(1 << 30)  # stands for an allocation no check foresaw
    assert resource.getrlimit(resource.RLIMIT_AS) == before
    bytearray(1 << 29)  # and the process may use its memory again


def test_ordinary_templates_render(env):
    text, exported = render_text(env, env.from_string(
        "{% set subject = 'Away' %}{{ 'x' * 10 }} {% for i in range(3) %}{{ loop.index }}"
        "{% endfor %} {{ '%5s|%-3d' % ('a', 7) }} {{ '{:>4}'.format('b') }} {{ 'a' ~ 'b' }}"
        " {{ ['p', 'q']|join(', ') }} {{ 'hello'|center(9) }} {{ 'x y'|replace(' ', '_') }}"
        " {{ ('a' * 5000)|wordwrap(80)|length }}"), {})
    assert text == " ".join(["x" * 10, "123", "%5s|%-3d" % ("a", 7), "{:>4}".format("b"), "ab",
                             "p, q", "hello".center(9), "x_y", "5062"])
    assert exported == {"subject": "Away"}


# --- end to end: the real deliver and template check, with a template dir -------------------

def _with_template(agent, body: str, **config) -> None:
    tdir = agent.dir / "templates"
    tdir.mkdir(exist_ok=True)
    (tdir / "default.en.txt").write_text(body)
    agent.write_config(templates=str(tdir), **config)


@pytest.mark.parametrize("body,config", [
    ("{{ 'x' * 10**9 }}", {}),
    (NESTED, {"render_timeout": "1s"}),
    ("{% for i in range(100000) %}{{ account.message }}{% endfor %}", {}),
], ids=["repeat", "nested-loops", "output"])
def test_deliver_makes_a_template_over_the_bounds_a_template_error(agent, body, config):
    _with_template(agent, "Back soon.\n", **config)
    agent.admin("vacation", "enable", "ana@example.com", "--message", "Away " * 10)
    (agent.dir / "templates" / "default.en.txt").write_text(body)
    r = agent.deliver("bob@example.org", "ana@example.com", personal(), timeout=120)
    assert r.returncode == 0, r.stderr
    [line] = agent.log_lines()
    assert "rule=template-error" in line and ("render_max_chars" in line or
                                              "render_timeout = 1s" in line), line
    assert agent.replies() == []
    # fixed template: the claim was released, the retry replies
    (agent.dir / "templates" / "default.en.txt").write_text("Back soon.\n")
    r = agent.deliver("bob@example.org", "ana@example.com", personal())
    assert r.returncode == 0 and len(agent.replies()) == 1, agent.log_lines()


def test_template_check_fails_a_template_over_the_bounds(agent):
    _with_template(agent, NESTED + "text", render_timeout="1s")
    (agent.dir / "templates" / "huge.en.txt").write_text("{{ 'x' * 10**9 }}")
    (agent.dir / "templates" / "huge.en.html").write_text("<p>{{ '%*s' % (10**9, 'x') }}</p>")
    r = agent.run("template", "check", timeout=120)
    out = r.stdout.decode()
    assert r.returncode == 65, (out, r.stderr)
    assert "FAIL default.en.txt" in out and "render time limit (render_timeout = 1s)" in out
    assert "FAIL huge.en.txt" in out and "FAIL huge.en.html" in out
    assert out.count("render_max_chars") >= 2
    assert "ok   default.pt.txt" in out  # the shipped ones still pass


@pytest.mark.parametrize("line", ['render_timeout = "0s"', "render_max_chars = 0",
                                  'render_max_chars = "big"'])
def test_render_bounds_must_be_positive(agent, line):
    agent.config.write_text(line + "\n" + agent.config.read_text())
    r = agent.run("template", "check")
    assert r.returncode == 78 and line.split()[0].encode() in r.stderr
