// Unit tests of the Jinja engine: constructs, whitespace control, scoping,
// filters, tests, Python value semantics and error reporting. Expected
// strings were checked against Python jinja2 3.1 with trim_blocks and
// lstrip_blocks (HF transformers' settings).
#include <gtest/gtest.h>

#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "text/jinja/template.h"

namespace lookahead::jinja {
namespace {

using nlohmann::ordered_json;

std::string render(const std::string& src, const ordered_json& ctx = ordered_json::object()) {
  return Template(src).render(ctx);
}

std::string error_of(const std::string& src, const ordered_json& ctx = ordered_json::object()) {
  try {
    Template t(src);
    t.render(ctx);
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(JinjaBasics, TextAndExpressions) {
  EXPECT_EQ(render("hello"), "hello");
  EXPECT_EQ(render("{{ 1 + 2 * 3 }}"), "7");
  EXPECT_EQ(render("{{ 'a' ~ 1 ~ none }}"), "a1None");
  EXPECT_EQ(render("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 4 / 2 }} {{ 2 ** 10 }}"),
            "3 -4 2 3.5 2.0 1024");
  EXPECT_EQ(render("{{ x }}", {{"x", "v"}}), "v");
  EXPECT_EQ(render("{{ missing }}|{{ missing | length }}"), "|0");
  EXPECT_EQ(render("{{ 'x' if false }}|{{ 'y' if true else 'z' }}"), "|y");
  EXPECT_EQ(render("{{ 'it''s' }}"), "its");  // adjacent literals concatenate
  EXPECT_EQ(render("{# comment #}a{#- trimmed -#}  b"), "ab");
}

TEST(JinjaBasics, PythonValuePrinting) {
  EXPECT_EQ(render("{{ [1, 'a', None, True, 1.5, {'k': 'v'}, ('x',), (1, 2)] }}"),
            "[1, 'a', None, True, 1.5, {'k': 'v'}, ('x',), (1, 2)]");
  EXPECT_EQ(render("{{ 1e16 }} {{ 1e-5 }} {{ 0.1 }} {{ 1.5e15 }} {{ 1.0 }}"),
            "1e+16 1e-05 0.1 1500000000000000.0 1.0");
  EXPECT_EQ(render("{{ ['a\"b', \"it's\", 'x\\ny'] }}"), "['a\"b', \"it's\", 'x\\ny']");
  EXPECT_EQ(render("{{ true }} {{ none }} {{ x }}", {{"x", false}}), "True None False");
}

TEST(JinjaWhitespace, TrimAndLstripBlocks) {
  EXPECT_EQ(render("{% if true %}\nA\n{% endif %}\nB"), "A\nB");
  EXPECT_EQ(render("  {% if true %}\n  x\n  {% endif %}\n"), "  x\n");
  EXPECT_EQ(render("a  {{- 'b' -}}  c"), "abc");
  EXPECT_EQ(render("a\n  {%- if true %}b{% endif %}"), "ab");
  EXPECT_EQ(render("  {%+ if true %}x{% endif %}"), "  x");
  EXPECT_EQ(render("{{ 'x' }}\ny"), "x\ny");  // trim_blocks does not apply to {{ }}
  EXPECT_EQ(render("line\n"), "line");        // one trailing newline is dropped
  EXPECT_EQ(render("a\r\nb"), "a\nb");
  EXPECT_EQ(render("{% raw %}{{ not parsed }}{% endraw %}"), "{{ not parsed }}");
}

TEST(JinjaWhitespace, WithoutHfSettings) {
  TemplateOptions o;
  o.trim_blocks = false;
  o.lstrip_blocks = false;
  EXPECT_EQ(Template("  {% if true %}\nx{% endif %}", o).render(ordered_json::object()), "  \nx");
}

TEST(JinjaLoops, LoopVariables) {
  EXPECT_EQ(render("{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}"
                   "{{ loop.length }}{{ loop.revindex }}|{% endfor %}"),
            "10TrueFalse33|21FalseFalse32|32FalseTrue31|");
  EXPECT_EQ(render("{% for x in [1,2,3] %}{{ loop.previtem }}-{{ loop.nextitem }}|{% endfor %}"), "-2|1-3|2-|");
  EXPECT_EQ(render("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{% for x in range(6) if x is odd %}{{ x }}{{ loop.last }}{% endfor %}"), "1False3False5True");
  EXPECT_EQ(render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"), "a=1;b=2;");
  EXPECT_EQ(render("{% for x in [1,2,3,4] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}"
                   "{% endif %}{{ x }}{% endfor %}"),
            "13");
  EXPECT_EQ(render("{% for x in [1,2,3] %}{{ loop.cycle('a', 'b') }}{% endfor %}"), "aba");
  EXPECT_EQ(render("{% for x in missing %}x{% endfor %}"), "");
}

TEST(JinjaScoping, SetInLoopDoesNotLeak) {
  EXPECT_EQ(render("{% for i in [1,2] %}{% if i == 1 %}{% set x = 'a' %}{% endif %}[{{ x }}]{% endfor %}{{ x }}"),
            "[a][]");
  EXPECT_EQ(render("{% set x = 'o' %}{% for i in [1,2] %}{% set x = i %}{% endfor %}{{ x }}"), "o");
  EXPECT_EQ(render("{% if true %}{% set x = 1 %}{% endif %}{{ x }}"), "1");
  EXPECT_EQ(render("{% set ns = namespace(n=0) %}{% for i in [1,2,3] %}{% set ns.n = ns.n + i %}{% endfor %}"
                   "{{ ns.n }}"),
            "6");
  EXPECT_EQ(render("{% set a, b = 1, 2 %}{{ a }}{{ b }}"), "12");
  EXPECT_EQ(render("{% set s %}  block {{ 1 }}  {% endset %}[{{ s }}]"), "[  block 1  ]");
  EXPECT_EQ(render("{% set s | trim | upper %}  block  {% endset %}[{{ s }}]"), "[BLOCK]");
  EXPECT_EQ(render("{% filter upper %}abc{% endfilter %}"), "ABC");
}

TEST(JinjaMacros, ArgumentsDefaultsAndCall) {
  EXPECT_EQ(render("{% macro m(a, b='B', c=a) %}{{ a }}{{ b }}{{ c }}{% endmacro %}{{ m(1) }}|{{ m(1, c=3) }}"),
            "1B1|1B3");
  EXPECT_EQ(render("{% macro m(x) %}{{ y }}{{ x }}{% endmacro %}{% set y = 5 %}{{ m('!') }}"), "5!");
  EXPECT_EQ(render("{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}"), "321");
  EXPECT_EQ(render("{% macro w(t) %}<{{ caller(t) }}>{% endmacro %}{% call(x) w('hi') %}[{{ x }}]{% endcall %}"),
            "<[hi]>");
  EXPECT_NE(error_of("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}").find("takes not more than 1"), std::string::npos);
}

TEST(JinjaFilters, Strings) {
  EXPECT_EQ(render("[{{ '  a b  ' | trim }}]{{ 'xxaxx' | trim('x') }}"), "[a b]a");
  EXPECT_EQ(render("{{ 'hello world-foo' | title }} {{ 'hELLO' | capitalize }} {{ 'aB' | upper }}{{ 'aB' | lower }}"),
            "Hello World-Foo Hello ABab");
  EXPECT_EQ(render("{{ 'a-b-c' | replace('-', '+') }} {{ 'a-b-c' | replace('-', '', 1) }}"), "a+b+c ab-c");
  EXPECT_EQ(render("{{ 'abc' | indent(2) }}|{{ 'a\nb\n\nc' | indent(2) }}|{{ 'a\nb' | indent(2, first=true) }}"),
            "abc|a\n  b\n\n  c|  a\n  b");
  EXPECT_EQ(render("{{ 'héllo' | length }} {{ 'héllo'[1] }} {{ 'abc'[::-1] }} {{ 'abc' | reverse }}"),
            "5 é cba cba");
  EXPECT_EQ(render("{{ 42 | string }}{{ none | string }}"), "42None");
  EXPECT_EQ(render("{{ '%s-%d' | format('a', 3) }} {{ '%s!' % 'x' }}"), "a-3 x!");
}

TEST(JinjaFilters, Sequences) {
  ordered_json ctx = {{"xs", {{{"a", 1}, {"t", "x"}}, {{"a", 2}, {"t", "y"}}, {{"a", 3}}}}};
  EXPECT_EQ(render("{{ xs | map(attribute='a') | join(',') }}", ctx), "1,2,3");
  EXPECT_EQ(render("{{ xs | selectattr('t', 'defined') | map(attribute='t') | list }}", ctx), "['x', 'y']");
  EXPECT_EQ(render("{{ xs | rejectattr('t', 'equalto', 'x') | list | length }}", ctx), "2");
  EXPECT_EQ(render("{{ [1,2,3] | select('odd') | list }}{{ ['a', ''] | select | list }}"), "[1, 3]['a']");
  EXPECT_EQ(render("{{ [3,1,2] | sort }}{{ ['b','A','a'] | sort }}{{ ['b','A','a'] | unique | list }}"),
            "[1, 2, 3]['A', 'a', 'b']['b', 'A']");
  EXPECT_EQ(render("{{ [1,2,3] | first }}{{ [1,2,3] | last }}{{ [] | first }}"), "13");
  EXPECT_EQ(render("{{ {'a': 1} | items | list }}{{ [1,2,3,4,5] | batch(2) | list }}"),
            "[('a', 1)][[1, 2], [3, 4], [5]]");
  EXPECT_EQ(render("{{ [1,2,3][1:] }}{{ [1,2,3][-1] }}{{ [1,2,3][5] }}"), "[2, 3]3");
  EXPECT_EQ(render("{{ [1, 2] + [3] }}{{ 'ab' * 2 }}{{ [0] * 2 }}"), "[1, 2, 3]abab[0, 0]");
  EXPECT_EQ(render("{{ missing | default('d') }}{{ '' | default('e', true) }}{{ none | d('n') }}"), "deNone");
  EXPECT_EQ(render("{{ '4' | int + 1 }} {{ 3.9 | int }} {{ 'x' | int }} {{ '2.5' | float }}"), "5 3 0 2.5");
}

TEST(JinjaFilters, ToJsonMatchesHf) {
  ordered_json ctx = {{"v", {{"b", 1}, {"a", {1.0, "<é>", nullptr, true}}}}};
  EXPECT_EQ(render("{{ v | tojson }}", ctx), "{\"b\": 1, \"a\": [1.0, \"<é>\", null, true]}");
  EXPECT_EQ(render("{{ v | tojson(indent=2) }}", ctx),
            "{\n  \"b\": 1,\n  \"a\": [\n    1.0,\n    \"<é>\",\n    null,\n    true\n  ]\n}");
  EXPECT_EQ(render("{{ v | tojson(sort_keys=true) }}", ctx), "{\"a\": [1.0, \"<é>\", null, true], \"b\": 1}");
  EXPECT_EQ(render("{{ 'a\"\\n\\u0001' | tojson }}"), "\"a\\\"\\n\\u0001\"");
  EXPECT_NE(error_of("{{ [1] | map('string') | tojson }}").find("not JSON serializable"), std::string::npos);
}

TEST(JinjaTests, TypeTests) {
  EXPECT_EQ(render("{{ x is defined }}{{ y is undefined }}{{ none is none }}{{ 's' is string }}", {{"x", 1}}),
            "TrueTrueTrueTrue");
  EXPECT_EQ(render("{{ {} is mapping }}{{ 's' is iterable }}{{ 1 is number }}{{ true is boolean }}{{ 1 is integer }}"),
            "TrueTrueTrueTrueTrue");
  EXPECT_EQ(render("{{ 3 is odd }}{{ 4 is even }}{{ 6 is divisibleby 3 }}{{ 'a' is equalto 'a' }}{{ 2 is in [1, 2] }}"),
            "TrueTrueTrueTrueTrue");
  EXPECT_EQ(render("{{ x is not none }}{{ not x is none }}", {{"x", 1}}), "TrueTrue");
}

TEST(JinjaOperators, ComparisonsAndMembership) {
  EXPECT_EQ(render("{{ 'a' in 'abc' }}{{ 1 in [1] }}{{ 'k' in {'k': 1} }}{{ 'z' not in 'abc' }}"),
            "TrueTrueTrueTrue");
  EXPECT_EQ(render("{{ 1 < 2 < 3 }}{{ 1 == 1.0 }}{{ true == 1 }}{{ [1] == [1] }}{{ {'a': 1} == {'a': 1} }}"),
            "TrueTrueTrueTrueTrue");
  EXPECT_EQ(render("{{ 0 or 'x' }}{{ 1 and 'y' }}{{ not '' }}"), "xyTrue");
}

TEST(JinjaMethods, StringDictList) {
  EXPECT_EQ(render("{{ ' a '.strip() }}{{ 'a,b'.split(',') }}{{ 'a b  c'.split() }}"), "a['a', 'b']['a', 'b', 'c']");
  EXPECT_EQ(render("{{ 'abc'.startswith('a') }}{{ 'abc'.endswith(('x', 'c')) }}{{ '{}-{}'.format(1, 'x') }}"),
            "TrueTrue1-x");
  EXPECT_EQ(render("{{ 'hELLO wORLD'.title() }} {{ 'x'.upper() }}"), "Hello World X");
  EXPECT_EQ(render("{{ d.get('a') }}{{ d.get('z', 'def') }}{{ d.keys() | list }}{{ d.values() | list }}",
                   {{"d", {{"a", 1}}}}),
            "1def['a'][1]");
  // Python attribute lookup wins over keys: d.items is the method.
  EXPECT_EQ(render("{{ d['items'] }}{{ d.items is callable }}", {{"d", {{"items", 3}}}}), "3True");
}

TEST(JinjaGlobals, RaiseExceptionAndNamespace) {
  std::string err = error_of("line1\n{{ raise_exception('bad roles') }}");
  EXPECT_NE(err.find("bad roles"), std::string::npos) << err;
  EXPECT_NE(err.find("line 2"), std::string::npos) << err;
  EXPECT_EQ(render("{% set ns = namespace(a=1, b='x') %}{{ ns.a }}{{ ns.b }}{{ ns.c }}"), "1x");
  EXPECT_EQ(render("{{ range(3) | list }}{{ range(1, 7, 2) | list }}"), "[0, 1, 2][1, 3, 5]");
}

TEST(JinjaMarkup, SafePlusEscapesTheOtherSide) {
  EXPECT_EQ(render("{{ ('a' | safe) + '<b>' }}"), "a&lt;b&gt;");
  EXPECT_EQ(render("{{ '<x>' + ('&' | safe) }}"), "&lt;x&gt;&");
  EXPECT_EQ(render("{{ ('a' | safe) ~ '<b>' }}"), "a<b>");
}

TEST(JinjaErrors, SyntaxErrorsNameConstructAndPosition) {
  EXPECT_EQ(error_of("ab\n{{ x }}\n{{ messages | foo }}"), "template: unknown filter 'foo' at line 3, column 15");
  EXPECT_EQ(error_of("{% if x %}"), "template: unexpected end of template, expected 'endif' at line 1, column 11");
  EXPECT_EQ(error_of("{% endfor %}"), "template: unexpected tag 'endfor' at line 1, column 4");
  EXPECT_EQ(error_of("{% frobnicate %}"), "template: unknown tag 'frobnicate' at line 1, column 4");
  EXPECT_EQ(error_of("{{ x is nosuchtest }}"), "template: unknown test 'nosuchtest' at line 1, column 9");
  EXPECT_EQ(error_of("{{ (1 }}"), "template: unexpected '}', expected ')' at line 1, column 7");
  EXPECT_EQ(error_of("{{ 'abc }}"), "template: unterminated string literal at line 1, column 4");
  EXPECT_EQ(error_of("{# never closed"), "template: missing end of comment tag at line 1, column 1");
  EXPECT_EQ(error_of("{% break %}"), "template: 'break' outside of a loop at line 1, column 4");
}

TEST(JinjaErrors, RuntimeErrorsNameConstructAndPosition) {
  EXPECT_EQ(error_of("\n  {{ 'a' + 1 }}"), "template: can only concatenate str (not \"int\") to str at line 2, column 10");
  EXPECT_EQ(error_of("{{ x.y.z }}"), "template: 'x' is undefined at line 1, column 5");
  EXPECT_EQ(error_of("{{ none | length }}"), "template: object of type 'NoneType' has no len() at line 1, column 11");
  EXPECT_EQ(error_of("{% for x in 5 %}{% endfor %}"), "template: 'int' object is not iterable at line 1, column 13");
  EXPECT_EQ(error_of("{{ 1 / 0 }}"), "template: division by zero at line 1, column 6");
  EXPECT_EQ(error_of("{% set x.y = 1 %}"), "template: cannot assign attribute on non-namespace object at line 1, column 4");
}

TEST(JinjaRobustness, RecursionAndSizeLimits) {
  EXPECT_NE(error_of("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").find("recursion"), std::string::npos);
  EXPECT_NE(error_of("{{ 'x' * 1000000000 }}").find("too large"), std::string::npos);
  EXPECT_NE(error_of("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}").find("nested"),
            std::string::npos);
  Environment env;
  env.max_loop_iterations = 100000;
  Template t("{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}");
  EXPECT_THROW(t.render(ordered_json::object(), env), Error);
}

// Random byte soup built from template syntax fragments must never crash:
// either it renders or it throws lookahead::Error.
TEST(JinjaRobustness, RandomTemplatesNeverCrash) {
  const char* frags[] = {"{{", "}}", "{%", "%}", "{#", "#}", "-", "+", " ", "\n", "if", "for", "x", "in",
                         "endif", "endfor", "set", "=", "macro", "(", ")", "[", "]", "{", "}", "'", "\"",
                         "|", "trim", "is", "defined", "loop", ".", "1", ",", ":", "messages", "~", "*",
                         "not", "and", "else", "namespace", "raise_exception", "é", "\\", "%", "**", "//"};
  std::mt19937 rng(1234);
  ordered_json ctx = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"x", {1, 2}}};
  for (int iter = 0; iter < 3000; ++iter) {
    std::string src;
    int n = 1 + static_cast<int>(rng() % 30);
    for (int k = 0; k < n; ++k) src += frags[rng() % (sizeof(frags) / sizeof(frags[0]))];
    try {
      Template t(src);
      t.render(ctx);
    } catch (const Error&) {
    }
  }
  SUCCEED();
}

}  // namespace
}  // namespace lookahead::jinja
