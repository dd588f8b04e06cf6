/* test_dotenv.c — the .env format as Docker Compose reads it: keys, quotes,
   escapes, comments, interpolation, inherited keys, and the exact words and
   positions of each error. */
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"

/* dotenv_parse on its own, with a lookup environment and the diagnostics
   printed as `stack` prints them. */
struct fx
{
  compose_options_t opts;
  compose_diags_t diags;
  ld_t ld;
  source_t src;
  env_t lookup, out;
  char *printed;
  int ret;
};

static struct fx *
parse (const char *text, const char *const *lookup)
{
  struct fx *f = xzalloc (sizeof *f);
  size_t len = 0, i;
  FILE *mem;

  compose_diags_init (&f->diags);
  f->ld.arena = arena_new ();
  f->ld.diags = &f->diags;
  f->ld.opts = &f->opts;
  f->src.path = ".env";
  f->src.dir = "/project";
  for (i = 0; lookup && lookup[i]; i += 2)
    env_set (f->ld.arena, &f->lookup, lookup[i], lookup[i + 1]);
  f->ret = dotenv_parse (&f->ld, &f->src, text, &f->lookup, &f->out);
  mem = open_memstream (&f->printed, &len);
  compose_diags_print (&f->diags, mem);
  fclose (mem);
  return f;
}

static void
fx_free (struct fx *f)
{
  free (f->printed);
  compose_diags_free (&f->diags);
  arena_free (f->ld.arena);
  free (f);
}

/* All of out as "K=V;" in order, for one exact comparison. */
static char *
dump (const env_t *e)
{
  strbuf_t b = { 0 };
  size_t i;
  for (i = 0; i < e->len; i++)
    sb_printf (&b, "%s=%s;", e->vars[i].name, e->vars[i].value);
  return sb_steal (&b);
}

static void
assert_parses (const char *text, const char *const *lookup, const char *expected,
               const char *expected_out)
{
  struct fx *f = parse (text, lookup);
  cleanup_free char *got = dump (&f->out);
  if (strcmp (got, expected) != 0 || strcmp (f->printed, expected_out) != 0 || f->ret != 0)
    print_error ("for <<%s>>: ret %d, got <<%s>>, printed:\n%s", text, f->ret, got, f->printed);
  assert_int_equal (f->ret, 0);
  assert_string_equal (got, expected);
  assert_string_equal (f->printed, expected_out);
  fx_free (f);
}

static void
assert_fails (const char *text, const char *expected_out)
{
  struct fx *f = parse (text, NULL);
  assert_int_equal (f->ret, -1);
  assert_string_equal (f->printed, expected_out);
  fx_free (f);
}

static void
test_plain (void **state)
{
  (void) state;
  assert_parses ("A=1\nB = 2 \n  C=three four  \nD=\nE=a=b\n", NULL,
                 "A=1;B=2;C=three four;D=;E=a=b;", "");
  assert_parses ("A=1", NULL, "A=1;", "");
  assert_parses ("A=1\nA=2\n", NULL, "A=2;", "");
  assert_parses ("lower.case-key[0]=x\n", NULL, "lower.case-key[0]=x;", "");
  assert_parses ("", NULL, "", "");
}

static void
test_export_and_yaml_style (void **state)
{
  (void) state;
  assert_parses ("export A=1\nexport\tB=2\nexport=3\nexportC=4\n", NULL,
                 "A=1;B=2;export=3;exportC=4;", "");
  assert_parses ("A: 1\nB:two\n", NULL, "A=1;B=two;", "");
}

static void
test_comments (void **state)
{
  (void) state;
  assert_parses ("# a comment\n\n   # indented\nA=1 # inline\nB=2#not a comment\nC= # empty\n"
                 "D=x\t# after a tab\n",
                 NULL, "A=1;B=2#not a comment;C=;D=x;", "");
  assert_parses ("A=\"q # not a comment\" # comment\nB='s'# comment\n", NULL,
                 "A=q # not a comment;B=s;", "");
}

static void
test_single_quotes (void **state)
{
  (void) state;
  assert_parses ("A='$B ${C} \\n x'\nB='Let\\'s go!'\nC=' spaced '\nD=''\n", NULL,
                 "A=$B ${C} \\n x;B=Let's go!;C= spaced ;D=;", "");
  assert_parses ("A='line1\nline2'\nB=2\n", NULL, "A=line1\nline2;B=2;", "");
}

static void
test_double_quotes (void **state)
{
  (void) state;
  assert_parses ("A=\"a\\tb\\nc\\\\d\\\"e\\$f\"\n", NULL, "A=a\tb\nc\\d\"e$f;", "");
  assert_parses ("A=\"{\\\"hello\\\": \\\"json\\\"}\"\n", NULL, "A={\"hello\": \"json\"};", "");
  assert_parses ("A=\"first\nsecond\"\nB=\"\"\n", NULL, "A=first\nsecond;B=;", "");
  /* octal as compose-go reads it; unknown escapes keep their backslash */
  assert_parses ("A=\"\\0101\\q\\'\"\n", NULL, "A=A\\q\\';", "");
  assert_parses ("A=\"\\0351t\\0351\"\n", NULL, "A=\xc3\xa9t\xc3\xa9;", "");
}

static void
test_crlf_and_bom (void **state)
{
  (void) state;
  assert_parses ("\xEF\xBB\xBF"
                 "A=1\r\nB=\"2\"\r\nC\r\n",
                 (const char *const[]){ "C", "from-env", NULL }, "A=1;B=2;C=from-env;", "");
}

static void
test_interpolation (void **state)
{
  (void) state;
  assert_parses ("A=1\nB=${A}2\nC=$A\nD=${NOPE:-dflt}\nE='${A}'\nF=\"<$A>\"\nG=$$A\nH=\"\\$A\"\n",
                 NULL, "A=1;B=12;C=1;D=dflt;E=${A};F=<1>;G=$A;H=$A;", "");
  /* names are looked up in the environment before this file's own keys */
  assert_parses ("A=file\nB=$A\n", (const char *const[]){ "A", "os", NULL }, "A=file;B=os;", "");
  assert_parses ("B=x-${UNSET}\n", NULL, "B=x-;",
                 "stack: warning: .env:1:3: B: variable UNSET is not set; using an empty string\n");
}

static void
test_inherited (void **state)
{
  (void) state;
  assert_parses ("K\nL\n  export M  # comment\nN=$K\n",
                 (const char *const[]){ "K", "from-env", "M", "m", NULL },
                 "K=from-env;M=m;N=from-env;", "");
}

static void
test_key_errors (void **state)
{
  (void) state;
  assert_fails ("A B=1\n", "stack: .env:1:2: a variable name cannot contain a blank; write "
                           "KEY=VALUE\n");
  assert_fails ("OK=1\n  A$=1\n", "stack: .env:2:4: unexpected `$` in a variable name; names hold "
                                  "letters, digits, `_`, `.`, `-`, `[` and `]`, followed by `=` "
                                  "and the value\n");
  assert_fails ("=1\n", "stack: .env:1:1: a variable name is missing before `=`\n");
  assert_fails ("export  \n", "stack: .env:1:9: `export` must be followed by a variable name\n");
  assert_fails ("A=1\nexport ", "stack: .env:2:8: `export` must be followed by a variable name\n");
  assert_fails ("A#=1\n", "stack: .env:1:2: unexpected `#` in a variable name; names hold "
                          "letters, digits, `_`, `.`, `-`, `[` and `]`, followed by `=` and the "
                          "value\n");
}

static void
test_quote_errors (void **state)
{
  (void) state;
  assert_fails ("A=1\nB=\"never closed\nC=2\n",
                "stack: .env:2:3: B: unterminated quoted value: no closing `\"`\n");
  assert_fails ("A='x\\'\n", "stack: .env:1:3: A: unterminated quoted value: no closing `'`\n");
  assert_fails ("A=\"x\" y\n", "stack: .env:1:7: A: unexpected text after the closing quote; "
                               "quote the whole value, or start a comment with `#`\n");
}

static void
test_interpolation_errors (void **state)
{
  (void) state;
  assert_fails ("A=${B:?need B}\n",
                "stack: .env:1:3: A: required variable B is missing a value: need B\n");
  assert_fails ("A=\"x\n${B?}\"\n", "stack: .env:1:3: A: required variable B is missing a value\n");
  assert_fails ("A=cost $5\n", "stack: .env:1:3: A: invalid interpolation format in `cost $5`: "
                               "`$` must be followed by a name, `{` or `$`; you may need to escape "
                               "any $ with another $\n");
}

static void
test_all_errors_reported (void **state)
{
  (void) state;
  /* positions stay right after a value that spans lines */
  assert_fails ("A=\"x\ny\"\nB C=1\nD=ok\n$=2\nE=${F:?}\n",
                "stack: .env:3:2: a variable name cannot contain a blank; write KEY=VALUE\n"
                "stack: .env:5:1: unexpected `$` in a variable name; names hold letters, digits, "
                "`_`, `.`, `-`, `[` and `]`, followed by `=` and the value\n"
                "stack: .env:6:3: E: required variable F is missing a value\n");
}

static void
test_key_count_bounded (void **state)
{
  strbuf_t b = { 0 };
  struct fx *f;
  int i;
  (void) state;

  for (i = 0; i < 10000; i++)
    sb_printf (&b, "K%05d=v\n", i);
  sb_puts (&b, "K00000=again\n"); /* redefining is not one more */
  f = parse (b.s, NULL);
  assert_int_equal (f->ret, 0);
  assert_int_equal (f->out.len, 10000);
  fx_free (f);
  sb_puts (&b, "K10000=v\nK10001=v\n");
  assert_fails (b.s, "stack: .env:10002:8: K10000: more than 10000 variables in one env file; "
                     "split it or trim it\n");
  sb_free (&b);
}

/* Through compose_load: the .env of the project directory, its errors at
   FILE:LINE:COL, and nothing loaded when it is broken. */
static void
test_project_dotenv (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (&t, ".env",
            "# settings\nTAG=1.2\nexport REGISTRY=\"registry.local:5000\" # ours\n"
            "IMAGE=${REGISTRY}/app:${TAG}\n");
  th_write (&t, "stack.yml", "services:\n  web:\n    image: $IMAGE\n");
  t.project_name = "test";
  assert_int_equal (th_run (&t), 0);
  assert_string_equal (th_json (&t, "services.web.image"), "\"registry.local:5000/app:1.2\"");
  assert_string_equal (t.out, "");
  th_free (&t);
}

static void
test_project_dotenv_error (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (&t, ".env", "A=1\nPASSWORD=\"unterminated\n");
  th_write (&t, "stack.yml", "services:\n  web:\n    image: busybox\n");
  t.project_name = "test";
  assert_int_equal (th_run (&t), -1);
  assert_string_equal (t.out, "stack: .env:2:10: PASSWORD: unterminated quoted value: no closing "
                              "`\"`\n");
  th_free (&t);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_plain),
    cmocka_unit_test (test_export_and_yaml_style),
    cmocka_unit_test (test_comments),
    cmocka_unit_test (test_single_quotes),
    cmocka_unit_test (test_double_quotes),
    cmocka_unit_test (test_crlf_and_bom),
    cmocka_unit_test (test_interpolation),
    cmocka_unit_test (test_inherited),
    cmocka_unit_test (test_key_errors),
    cmocka_unit_test (test_quote_errors),
    cmocka_unit_test (test_interpolation_errors),
    cmocka_unit_test (test_all_errors_reported),
    cmocka_unit_test (test_key_count_bounded),
    cmocka_unit_test (test_project_dotenv),
    cmocka_unit_test (test_project_dotenv_error),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
